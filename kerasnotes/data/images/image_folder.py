"""An image-classification dataset stored as folders: `train/<class>/*.jpg`, `test/<class>/*.jpg`.

The layout of d2l's hotdog dataset. `load_image_folder` decodes every image of both splits
once, in a thread pool (JPEG, PNG, BMP, GIF: `decode_image_bounded`, 3 channels, first GIF
frame, upright by its EXIF orientation; an image whose header declares more than
`max_pixels` is refused before decoding), resizes it bilinearly to one size as
`keras.utils.image_dataset_from_directory` does, and returns NumPy arrays in a
`ClassificationData`, so the apps' per-epoch pipelines (`make_classification_dataset`) serve
it like any other source. A truncated, corrupt or oversized file is found there, when the
dataset is opened, and named in a one-line `ValueError` (not halfway through training).
`write_image_folder` writes arrays in that layout (PNG).
"""

import concurrent.futures
import os

import numpy as np

from kerasnotes.data.images.classification_datasets import ClassificationData
from kerasnotes.ops.image_decoding import DEFAULT_MAX_PIXELS, check_max_pixels

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")


def _class_folders(split_dir):
    classes = sorted(name for name in os.listdir(split_dir)
                     if os.path.isdir(os.path.join(split_dir, name)))
    for name in classes:  # the names become the export's class names: UTF-8 text
        if not name.isprintable():  # undecodable bytes come as surrogates: not printable
            shown = repr(os.fsencode(name))[2:-1]
            raise ValueError(f"{os.path.join(split_dir, shown)}: the class folder name is not "
                             "printable UTF-8 text (class names are exported as strings); "
                             "rename the folder")
    counts = {}
    for name in classes:
        files = os.listdir(os.path.join(split_dir, name))
        counts[name] = sum(f.lower().endswith(IMAGE_EXTENSIONS) for f in files)
    return classes, counts


def _image_files(split_dir, classes):
    """`(paths, labels)` of the images in each class folder, in sorted order."""
    paths, labels = [], []
    for label, name in enumerate(classes):
        folder = os.path.join(split_dir, name)
        for file in sorted(os.listdir(folder)):
            if file.lower().endswith(IMAGE_EXTENSIONS):
                paths.append(os.path.join(folder, file))
                labels.append(label)
    return paths, np.array(labels, dtype=np.int64)


def _decode(path, image_size, max_pixels):
    """One image as uint8 `(height, width, 3)`, or a one-line `ValueError` naming the file."""
    import tensorflow as tf

    from kerasnotes.ops.image_decoding import decode_image_bounded, decoder_reason

    with open(path, "rb") as file:
        data = file.read()
    try:
        image = decode_image_bounded(data, max_pixels, path)
    except tf.errors.InvalidArgumentError as error:
        reason, refused = decoder_reason(error)
        if refused and "budget" in reason:
            raise ValueError(reason) from None  # names the file, its size and the budget
        raise ValueError(f"{path} is not a readable image ({reason[:200]}); repair, replace "
                         "or delete it") from None
    # Bilinear, as image_dataset_from_directory; uint8 in, float32 at `image_size` only.
    resized = tf.image.resize(image, image_size)
    return np.clip(np.round(resized.numpy()), 0, 255).astype(np.uint8)


def _read_split(split_dir, classes, image_size, max_pixels, workers=4):
    """Decodes every image of one split once, `workers` at a time; the first bad file (in
    sorted order) raises."""
    paths, labels = _image_files(split_dir, classes)
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        images = list(pool.map(lambda path: _decode(path, image_size, max_pixels), paths))
    return np.stack(images), labels


def load_image_folder(directory, image_size, max_pixels=DEFAULT_MAX_PIXELS):
    """Reads `directory/train/<class>/*` and `directory/test/<class>/*`.

    Args:
        directory: the dataset folder.
        image_size: `(height, width)` every image is resized to (bilinear).
        max_pixels: the largest image read (height x width, from its header); a larger one
            is refused before it is decoded.

    Returns:
        a `ClassificationData` with uint8 RGB images `(N, height, width, 3)`, labels by
        class folder name (sorted), and the class names.

    Raises:
        FileNotFoundError: the folder or one of its `train`/`test` subfolders is missing.
        ValueError: fewer than two classes, a class folder without images, different
            classes in `train` and `test` (the message names the folder), or a truncated,
            corrupt or oversized image (the message names the file).

    Example:

    >>> data = load_image_folder("~/data/hotdog", image_size=(96, 96))
    >>> data.class_names
    ('hotdog', 'not-hotdog')
    """
    max_pixels = check_max_pixels("load_image_folder", max_pixels)
    directory = os.path.expanduser(str(directory))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"image folder not found: {directory}")
    class_names = None
    splits = []
    for split in ("train", "test"):
        split_dir = os.path.join(directory, split)
        if not os.path.isdir(split_dir):
            raise FileNotFoundError(f"{directory} has no '{split}' folder; expected "
                                    f"{directory}/train/<class>/*.jpg and "
                                    f"{directory}/test/<class>/*.jpg")
        classes, counts = _class_folders(split_dir)
        if len(classes) < 2:
            raise ValueError(f"{split_dir} must hold one folder per class, at least two; "
                             f"found {len(classes)} ({', '.join(classes) or 'none'})")
        empty = [name for name, count in counts.items() if count == 0]
        if empty:
            raise ValueError(f"{split_dir}: class folder(s) without images "
                             f"({', '.join(IMAGE_EXTENSIONS)}): {', '.join(empty)}")
        if class_names is not None and classes != class_names:
            raise ValueError(f"{split_dir} has classes {classes} but "
                             f"{os.path.join(directory, 'train')} has {class_names}")
        class_names = classes
        splits.append(_read_split(split_dir, classes, tuple(int(s) for s in image_size),
                                  max_pixels))
    (x_train, y_train), (x_test, y_test) = splits
    return ClassificationData(x_train, y_train, x_test, y_test, tuple(class_names),
                              f"image folder {directory}")


def write_image_folder(directory, data):
    """Writes a `ClassificationData` as `directory/{train,test}/<class>/<i>.png`.

    Example:

    >>> write_image_folder("/tmp/target", load_synthetic_target())
    """
    import keras

    for split, images, labels in (("train", data.x_train, data.y_train),
                                  ("test", data.x_test, data.y_test)):
        for name in data.class_names:
            os.makedirs(os.path.join(directory, split, name), exist_ok=True)
        for i, (image, label) in enumerate(zip(images, labels)):
            path = os.path.join(directory, split, data.class_names[int(label)], f"{i}.png")
            keras.utils.save_img(path, image, scale=False)
