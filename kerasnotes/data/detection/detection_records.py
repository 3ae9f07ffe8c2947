"""Detection records: one annotated image each, and the `tf.data.Dataset` they make.

Every detection loader (the d2l banana layout, Pascal VOC, the synthetic shapes) reads its
annotations into `DetectionRecord`s, whose boxes are normalized corners;
`detection_dataset_from_records` turns them into a dataset of `(image, labels)`:

    image   uint8 (height, width, 3)
    labels  float32 (max_objects, 5), rows (class, xmin, ymin, xmax, ymax) with normalized
            corners; padding rows are (-1, 0, 0, 0, 0)

the layout `kerasnotes.ops.anchor_matching.multibox_target` takes (after batching). Every
image is decoded once when the dataset is made, so a truncated or corrupt file is named at
once (`image_file_sizes`); images of one size that fit `in_memory_bytes` are then kept
decoded in memory, as d2l keeps its bananas, so that an epoch reads and decodes no file.
"""

import dataclasses
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import tensorflow as tf

from kerasnotes.ops.image_decoding import (
    DEFAULT_MAX_PIXELS,
    check_max_pixels,
    decode_image_bounded,
    read_image_file,
    read_image_size,
)

PADDING_ROW = (-1.0, 0.0, 0.0, 0.0, 0.0)

# Decoded images kept in memory when they all have one size and fit: 256 MiB holds 5,400
# images of 128x128 or 1,300 of 256x256 (uint8 RGB). Building the array needs it twice.
DEFAULT_IN_MEMORY_BYTES = 256 * 2**20


@dataclasses.dataclass(frozen=True)
class DetectionRecord:
    """The annotation of one image of a detection dataset.

    Attributes:
        image_path: path of the image file.
        width: image width in pixels (as the annotation gives it).
        height: image height in pixels.
        labels: float32 `(num_objects, 5)` rows `(class, xmin, ymin, xmax, ymax)` with
            corners normalized to `[0, 1]` (`num_objects` may be 0).
        annotation: where the annotation comes from (e.g. `Annotations/x.xml` or
            `label.csv:2`), named in error messages; default the image path.
    """

    image_path: str
    width: int
    height: int
    labels: np.ndarray
    annotation: str = ""

    @property
    def num_objects(self):
        return int(self.labels.shape[0])


def image_size_from_header(path):
    """`(width, height)` of an image file from its header, without decoding its pixels
    (`kerasnotes.ops.image_decoding.read_image_size`): the upright size when its EXIF
    orientation turns it. Raises `ValueError` naming the file when it is not a readable
    PNG/JPEG/BMP/GIF image."""
    height, width = read_image_size(path)
    return width, height


def check_pixel_box(where, xmin, ymin, xmax, ymax, width, height, origin=0.0):
    """Checks one pixel box against its image; `where` (e.g. "file:line") starts the
    `ValueError` message. Valid boxes have `origin <= xmin < xmax <= width` and the same
    for y (`origin` 0 for d2l's 0-based pixels, 1 for VOC's 1-based ones)."""
    for low, high, low_name, high_name in ((xmin, xmax, "xmin", "xmax"),
                                           (ymin, ymax, "ymin", "ymax")):
        if not low < high:
            raise ValueError(
                f"{where}: box {low_name}={low:g} is not less than {high_name}={high:g}"
            )
    for name, value, limit in (("xmin", xmin, None), ("ymin", ymin, None),
                               ("xmax", xmax, width), ("ymax", ymax, height)):
        if value < origin or (limit is not None and value > limit):
            size = f"{width}x{height}"
            raise ValueError(
                f"{where}: box {name}={value:g} is outside the {size} image "
                f"(box ({xmin:g}, {ymin:g}, {xmax:g}, {ymax:g}))"
            )


def check_positive_int(function, argument, value, allow_none=True):
    """`value` as an int; `ValueError` naming `function` and `argument` unless it is a
    positive integer (or `None` when `allow_none`)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(
            f"{function}: {argument} must be a positive integer"
            f"{' or None' if allow_none else ''}; received {argument}={value!r}"
        )
    return int(value)


def check_image_size(function, image_size):
    """`None` or an image size `(height, width)` from an int `S` (square) or a pair;
    `ValueError` naming `function` otherwise."""
    if image_size is None:
        return None
    if isinstance(image_size, (int, np.integer)) and not isinstance(image_size, bool):
        image_size = (image_size, image_size)
    if (not isinstance(image_size, (tuple, list)) or len(image_size) != 2 or any(
            isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1
            for v in image_size)):
        raise ValueError(
            f"{function}: image_size must be None, a positive integer or a (height, width) "
            f"pair of positive integers; received image_size={image_size!r}"
        )
    return int(image_size[0]), int(image_size[1])


def pad_labels(records, max_objects=None, function="pad_labels"):
    """Stacks the records' labels into float32 `(N, max_objects, 5)`, padding with
    `(-1, 0, 0, 0, 0)` rows. `max_objects=None` uses the largest count (at least 1); an
    image with more objects than `max_objects` raises `ValueError` naming it."""
    counts = [record.num_objects for record in records]
    if max_objects is None:
        max_objects = max(counts + [1])
    padded = np.tile(np.array(PADDING_ROW, "float32"), (len(records), max_objects, 1))
    for i, record in enumerate(records):
        if record.num_objects > max_objects:
            raise ValueError(
                f"{function}: {record.image_path} has {record.num_objects} objects, more "
                f"than max_objects={max_objects}"
            )
        padded[i, : record.num_objects] = record.labels
    return padded


def limit_objects(records, max_objects):
    """`(records, cut)`: the records with at most `max_objects` objects each (an image with
    more keeps its first `max_objects`, in annotation order), and the original records that
    were cut, for a notice. Training targets cost grows with the square of the objects of an
    image (`multibox_target`'s greedy matching), so an app caps them.

    >>> kept, cut = limit_objects(records, 100)  # doctest: +SKIP
    """
    kept, cut = [], []
    for record in records:
        if record.num_objects > max_objects:
            cut.append(record)
            record = dataclasses.replace(record, labels=record.labels[:max_objects])
        kept.append(record)
    return kept, cut


def decode_image(contents, image_size=None, max_pixels=DEFAULT_MAX_PIXELS, name="image"):
    """Decodes PNG/JPEG/BMP/GIF bytes to uint8 `(height, width, 3)`, upright by its EXIF
    orientation, resized (bilinear, rounded; float32 only at the output size) to
    `image_size = (height, width)` when given. An image declaring more than `max_pixels`
    fails (`InvalidArgumentError` naming `name`) before it is decoded."""
    image = decode_image_bounded(contents, max_pixels, name)
    image = tf.ensure_shape(image, (None, None, 3))
    if image_size is not None:
        image = tf.image.resize(image, image_size, method="bilinear")
        image = tf.cast(tf.clip_by_value(tf.round(image), 0.0, 255.0), tf.uint8)
    return image


def image_file_sizes(paths, workers=None, max_pixels=DEFAULT_MAX_PIXELS):
    """Decodes every image file once (in parallel threads); returns `{path: (height, width)}`,
    the upright sizes (EXIF orientation applied).

    A loader calls this when it opens a dataset, so that a truncated or corrupt file is
    reported at once, by name, instead of failing a training step later with a bare
    `jpeg::Uncompress failed` from inside the tf.data pipeline.

    Raises:
        ValueError: `PATH: cannot decode this image (DECODER MESSAGE); the file is truncated
            or not a PNG/JPEG/BMP/GIF image`, or `PATH: the image declares WxH pixels (...),
            more than the budget of N pixels; ...` (refused before decoding), for the first
            bad file in `paths` order.

    Example:

    >>> image_file_sizes(["images/0.jpg"])  # doctest: +SKIP
    {'images/0.jpg': (256, 256)}
    """
    unique = list(dict.fromkeys(os.fspath(path) for path in paths))

    def decode(path):
        try:
            image = read_image_file(path, max_pixels)
        except (ValueError, OSError) as error:
            return error
        return int(image.shape[0]), int(image.shape[1])

    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        sizes = dict(zip(unique, pool.map(decode, unique), strict=True))
    for size in sizes.values():
        if isinstance(size, Exception):
            raise size
    return sizes


def check_record_images(records, max_pixels=DEFAULT_MAX_PIXELS):
    """Decodes every record's image once (`image_file_sizes`) and checks that its size is
    the size the annotation gives; `ValueError` naming the file otherwise. Sizes are
    upright: annotations refer to an image as photo viewers show it (EXIF orientation
    applied). Returns `{path: (height, width)}`."""
    sizes = image_file_sizes([record.image_path for record in records], max_pixels=max_pixels)
    for record in records:
        height, width = sizes[os.fspath(record.image_path)]
        if (width, height) != (record.width, record.height):
            turned = ((height, width) == (record.width, record.height)
                      and width != height)
            raise ValueError(
                f"{record.annotation or record.image_path}: the annotation gives the image "
                f"size {record.width}x{record.height} (width x height) but "
                f"{record.image_path} is {width}x{height}"
                + (" once turned upright by its EXIF orientation (annotations must refer to "
                   "the upright image, as photo viewers show it)" if turned else ""))
    return sizes


def detection_dataset_from_records(records, image_size=None, max_objects=None,
                                   check_images=True, max_pixels=DEFAULT_MAX_PIXELS,
                                   in_memory_bytes=DEFAULT_IN_MEMORY_BYTES):
    """A `tf.data.Dataset` of `(image uint8 (H, W, 3), labels float32 (max_objects, 5))`
    from `DetectionRecord`s, in the records' order.

    The dataset is `from_tensor_slices` + a decoding `map`, so it has a known cardinality
    and random access (`tf.data.experimental.at`), which `make_detection_dataset` uses to
    shuffle file names rather than decoded images. With `check_images`, every image is
    decoded once here (`check_record_images`): a truncated or corrupt file, or one whose
    size is not the annotation's, is a `ValueError` naming the file now rather than a
    decoder error in the middle of training. When the checked images then all have one
    size (after `image_size`) and take at most `in_memory_bytes` together, they are kept
    decoded: the dataset is `from_tensor_slices((images, labels))`, with the same elements
    and random access, and an epoch reads no file (decoding a 128x128 JPEG costs about as
    much CPU as a fifth of TinySSD's training step on it).

    Args:
        records: a non-empty sequence of `DetectionRecord`.
        image_size: `None` (keep each image's size), an int `S` (resize to `S x S`) or a
            `(height, width)` pair. Boxes are normalized, so they do not change.
        max_objects: rows of `labels` per image; `None`: the largest object count.
        check_images: decode and check every image first (default True).
        max_pixels: the largest image read (height x width, from its header); a larger one
            is refused before it is decoded (`kerasnotes.ops.image_decoding`). Images are
            turned upright by their EXIF orientation.
        in_memory_bytes: the most bytes of decoded images kept in memory (default 256
            MiB); 0 reads every image from its file at every pass.

    Example:

    >>> dataset = detection_dataset_from_records(read_banana_labels("bananas_val"),
    ...                                          max_objects=3)  # doctest: +SKIP
    """
    function = "detection_dataset_from_records"
    image_size = check_image_size(function, image_size)
    max_pixels = check_max_pixels(function, max_pixels)
    max_objects = check_positive_int(function, "max_objects", max_objects)
    records = list(records)
    if not records:
        raise ValueError(f"{function}: records is empty")
    paths = np.array([record.image_path for record in records])
    labels = pad_labels(records, max_objects, function)
    if (isinstance(in_memory_bytes, bool) or not isinstance(in_memory_bytes, (int, np.integer))
            or in_memory_bytes < 0):
        raise ValueError(f"{function}: in_memory_bytes must be an integer >= 0; received "
                         f"in_memory_bytes={in_memory_bytes!r}")
    sizes = check_record_images(records, max_pixels) if check_images else None

    def load(path, image_labels):
        return decode_image(tf.io.read_file(path), image_size, max_pixels, path), image_labels

    dataset = tf.data.Dataset.from_tensor_slices((paths, labels))
    dataset = dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    shapes = {image_size or sizes[os.fspath(path)] for path in paths} if sizes else set()
    if len(shapes) != 1:
        return dataset
    height, width = shapes.pop()
    if len(paths) * height * width * 3 > in_memory_bytes:
        return dataset
    images = np.empty((len(paths), height, width, 3), np.uint8)
    done = 0
    for batch, _ in dataset.batch(64):
        images[done:done + len(batch)] = batch.numpy()
        done += len(batch)
    return tf.data.Dataset.from_tensor_slices((images, labels))


