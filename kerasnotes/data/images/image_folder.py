"""An image-classification dataset stored as folders: `train/<class>/*.jpg`, `test/<class>/*.jpg`.

The layout of d2l's hotdog dataset. `load_image_folder` reads both splits with
`keras.utils.image_dataset_from_directory` (JPEG, PNG, BMP, GIF), resizes to one size and
returns NumPy arrays in a `ClassificationData`, so the apps' per-epoch pipelines
(`make_classification_dataset`) serve it like any other source. `write_image_folder`
writes arrays in that layout (PNG files).
"""

import os

import numpy as np

from kerasnotes.data.images.classification_datasets import ClassificationData

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")


def _class_folders(split_dir):
    classes = sorted(name for name in os.listdir(split_dir)
                     if os.path.isdir(os.path.join(split_dir, name)))
    counts = {}
    for name in classes:
        files = os.listdir(os.path.join(split_dir, name))
        counts[name] = sum(f.lower().endswith(IMAGE_EXTENSIONS) for f in files)
    return classes, counts


def _read_split(split_dir, image_size):
    import keras
    import tensorflow as tf

    dataset = keras.utils.image_dataset_from_directory(
        split_dir, labels="inferred", label_mode="int", image_size=image_size,
        batch_size=256, shuffle=False, verbose=False)
    images, labels = [], []
    try:
        for x, y in dataset:
            images.append(np.clip(np.round(x.numpy()), 0, 255).astype(np.uint8))
            labels.append(y.numpy().astype(np.int64))
    except (tf.errors.InvalidArgumentError, tf.errors.UnknownError) as error:
        raise ValueError(f"{split_dir} holds a file that is not a readable image "
                         f"({str(error).splitlines()[0][:200]})") from None
    return np.concatenate(images), np.concatenate(labels)


def load_image_folder(directory, image_size):
    """Reads `directory/train/<class>/*` and `directory/test/<class>/*`.

    Args:
        directory: the dataset folder.
        image_size: `(height, width)` every image is resized to (bilinear).

    Returns:
        a `ClassificationData` with uint8 RGB images `(N, height, width, 3)`, labels by
        class folder name (sorted), and the class names.

    Raises:
        FileNotFoundError: the folder or one of its `train`/`test` subfolders is missing.
        ValueError: fewer than two classes, a class folder without images, different
            classes in `train` and `test`, or an unreadable image; the message names the
            folder.

    Example:

    >>> data = load_image_folder("~/data/hotdog", image_size=(96, 96))
    >>> data.class_names
    ('hotdog', 'not-hotdog')
    """
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
        splits.append(_read_split(split_dir, tuple(int(s) for s in image_size)))
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
