"""The d2l banana-detection layout: `label.csv` + `images/`, read into a `tf.data.Dataset`.

One split of the dataset is a folder:

    <split_dir>/label.csv     header `img_name,label,xmin,ymin,xmax,ymax`, then one row
                              per object: image file name (relative to images/), integer
                              class id >= 0, and the box corners in pixels
    <split_dir>/images/       the image files (PNG, JPEG, BMP or GIF)
    <split_dir>/classes.txt   optional: one class name per line, line i names class i
                              (also looked up in the parent folder of `split_dir`)

This is exactly the layout of d2l's `banana-detection.zip` (`bananas_train/`,
`bananas_val/`; one banana per image, class 0, 256x256 images), extended to several objects
per image by repeating `img_name` on several rows. An image with no object has one row with
class `-1` (d2l's padding class) and ignored coordinates, e.g. `7.png,-1,0,0,0,0`. Images of
`images/` that `label.csv` never names are not read (as in d2l).

Pixel boxes are normalized by the image size, `x / width` and `y / height` (d2l divides by
the 256-pixel edge), with pixel `i` covering `[i, i + 1)`: a box `(0, 0, width, height)` is
the whole image, `(0, 0, 1, 1)` in normalized units.

The dataset's elements are `(image, labels)`:

    image   uint8 (height, width, 3)
    labels  float32 (max_objects, 5), rows (class, xmin, ymin, xmax, ymax) with normalized
            corners; padding rows are (-1, 0, 0, 0, 0)

the layout `kerasnotes.ops.anchor_matching.multibox_target` takes (after batching).
"""

import csv
import dataclasses
import os

import numpy as np
import tensorflow as tf

LABEL_FILE = "label.csv"
IMAGES_FOLDER = "images"
CLASS_NAMES_FILE = "classes.txt"
LABEL_COLUMNS = ("img_name", "label", "xmin", "ymin", "xmax", "ymax")
PADDING_ROW = (-1.0, 0.0, 0.0, 0.0, 0.0)

EXPECTED_LAYOUT = (
    "expected the d2l banana-detection layout: <split_dir>/label.csv with the header "
    "'img_name,label,xmin,ymin,xmax,ymax' and one row per object (pixel corners; class -1 "
    "for an image without objects), and the images in <split_dir>/images/"
)


@dataclasses.dataclass(frozen=True)
class DetectionRecord:
    """The annotation of one image of a detection dataset.

    Attributes:
        image_path: path of the image file.
        width: image width in pixels.
        height: image height in pixels.
        labels: float32 `(num_objects, 5)` rows `(class, xmin, ymin, xmax, ymax)` with
            corners normalized to `[0, 1]` (`num_objects` may be 0).
    """

    image_path: str
    width: int
    height: int
    labels: np.ndarray

    @property
    def num_objects(self):
        return int(self.labels.shape[0])


def image_size_from_header(path):
    """`(width, height)` of a PNG or JPEG file read from its header (any other format is
    decoded). Raises `ValueError` naming the file when it is not a readable image."""
    with open(path, "rb") as file:
        head = file.read(24)
        if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
            return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
        contents = head + file.read()
    try:
        if contents[:2] == b"\xff\xd8":
            height, width, _ = tf.io.extract_jpeg_shape(contents).numpy()
        else:
            height, width, _ = tf.io.decode_image(
                contents, channels=3, expand_animations=False
            ).shape
    except (tf.errors.InvalidArgumentError, ValueError) as error:
        raise ValueError(f"{path}: not a readable PNG/JPEG/BMP/GIF image ({error})") from None
    return int(width), int(height)


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


def read_class_names(split_dir, num_classes=None):
    """Class names of a detection split: `classes.txt` in `split_dir` or its parent folder.

    Without a `classes.txt`, the names are `"class_0" ... "class_{k-1}"` for
    `k = num_classes` (required then).

    Returns:
        a tuple of strings, indexed by class id.
    """
    split_dir = os.fspath(split_dir)
    for folder in (split_dir, os.path.dirname(os.path.abspath(split_dir))):
        path = os.path.join(folder, CLASS_NAMES_FILE)
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as file:
                names = tuple(line.strip() for line in file if line.strip())
            if not names:
                raise ValueError(f"{path}: no class names (expected one name per line)")
            return names
    if num_classes is None:
        raise ValueError(
            f"read_class_names: no {CLASS_NAMES_FILE} in {split_dir} or its parent; pass "
            "num_classes to get generic names"
        )
    return tuple(f"class_{i}" for i in range(int(num_classes)))


def _layout_error(path, problem):
    return ValueError(f"{path}: {problem}; {EXPECTED_LAYOUT}")


def read_banana_labels(split_dir):
    """Parses and checks `label.csv` of one banana-layout split.

    Every row is checked: known image file, integer class (>= 0, or -1 for "no object"),
    numeric corners with `xmin < xmax`, `ymin < ymax`, inside the image (image sizes come
    from the file headers). Errors name the file and line.

    Args:
        split_dir: the split folder, e.g. `.../bananas_train`.

    Returns:
        a list of `DetectionRecord`, one per image in order of first appearance in
        `label.csv`, with normalized boxes.

    Raises:
        ValueError: missing folder, `label.csv` or `images/`, a label file with no rows, or a
            bad row (message `path/label.csv:LINE: ...`).

    Example:

    >>> records = read_banana_labels("data/synthetic_detection/bananas_val")  # doctest: +SKIP
    >>> records[0].labels  # (num_objects, 5): class, xmin, ymin, xmax, ymax in [0, 1]
    """
    split_dir = os.fspath(split_dir)
    if not os.path.isdir(split_dir):
        raise _layout_error(split_dir, "no such folder")
    label_path = os.path.join(split_dir, LABEL_FILE)
    images_dir = os.path.join(split_dir, IMAGES_FOLDER)
    if not os.path.isdir(images_dir):
        raise _layout_error(images_dir, "missing images folder")
    if not os.path.isfile(label_path):
        raise _layout_error(label_path, "missing label file")
    objects = {}  # image name -> list of label rows; dicts keep first-appearance order
    with open(label_path, newline="", encoding="utf-8") as file:
        reader = csv.reader(file)
        header = next(reader, None)
        if header is None or tuple(column.strip() for column in header) != LABEL_COLUMNS:
            raise _layout_error(
                f"{label_path}:1", f"bad header {','.join(header or [])!r}"
            )
        for row in reader:
            where = f"{label_path}:{reader.line_num}"
            if not row or all(not cell.strip() for cell in row):
                continue
            objects.setdefault(row[0].strip(), []).append((where, row))
    if not objects:
        raise _layout_error(label_path, "the image folder has no labels (no rows after the header)")

    records = []
    for name, rows in objects.items():
        where = rows[0][0]
        image_path = os.path.join(images_dir, name)
        if not os.path.isfile(image_path):
            raise ValueError(f"{where}: image {name!r} not found in {images_dir}")
        try:
            width, height = image_size_from_header(image_path)
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from None
        labels = []
        for where, row in rows:
            labels.extend(_parse_row(where, row, width, height))
        labels = np.array(labels, "float32").reshape(-1, 5)
        records.append(DetectionRecord(image_path, width, height, labels))
    return records


def _parse_row(where, row, width, height):
    if len(row) != len(LABEL_COLUMNS):
        raise ValueError(
            f"{where}: expected {len(LABEL_COLUMNS)} columns "
            f"({','.join(LABEL_COLUMNS)}); received {len(row)}"
        )
    try:
        label = int(row[1])
    except ValueError:
        raise ValueError(f"{where}: label must be an integer; received {row[1]!r}") from None
    if label == -1:
        return []
    if label < -1:
        raise ValueError(
            f"{where}: label must be a class id >= 0 (or -1 for an image without "
            f"objects); received {label}"
        )
    try:
        xmin, ymin, xmax, ymax = (float(cell) for cell in row[2:])
    except ValueError:
        raise ValueError(f"{where}: box corners must be numbers; received {row[2:]}") from None
    if not all(np.isfinite((xmin, ymin, xmax, ymax))):
        raise ValueError(f"{where}: box corners must be finite; received {row[2:]}")
    check_pixel_box(where, xmin, ymin, xmax, ymax, width, height)
    return [(label, xmin / width, ymin / height, xmax / width, ymax / height)]


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


def decode_image(contents, image_size=None):
    """Decodes PNG/JPEG/BMP/GIF bytes to uint8 `(height, width, 3)`, resized (bilinear,
    rounded) to `image_size = (height, width)` when given."""
    image = tf.io.decode_image(contents, channels=3, expand_animations=False)
    image = tf.ensure_shape(image, (None, None, 3))
    if image_size is not None:
        image = tf.image.resize(image, image_size, method="bilinear")
        image = tf.cast(tf.clip_by_value(tf.round(image), 0.0, 255.0), tf.uint8)
    return image


def detection_dataset_from_records(records, image_size=None, max_objects=None):
    """A `tf.data.Dataset` of `(image uint8 (H, W, 3), labels float32 (max_objects, 5))`
    from `DetectionRecord`s, in the records' order.

    The dataset is `from_tensor_slices` + a decoding `map`, so it has a known cardinality
    and random access (`tf.data.experimental.at`), which `make_detection_dataset` uses to
    shuffle file names rather than decoded images.

    Args:
        records: a non-empty sequence of `DetectionRecord`.
        image_size: `None` (keep each image's size), an int `S` (resize to `S x S`) or a
            `(height, width)` pair. Boxes are normalized, so they do not change.
        max_objects: rows of `labels` per image; `None`: the largest object count.
    """
    function = "detection_dataset_from_records"
    image_size = check_image_size(function, image_size)
    max_objects = check_positive_int(function, "max_objects", max_objects)
    records = list(records)
    if not records:
        raise ValueError(f"{function}: records is empty")
    paths = np.array([record.image_path for record in records])
    labels = pad_labels(records, max_objects, function)

    def load(path, image_labels):
        return decode_image(tf.io.read_file(path), image_size), image_labels

    dataset = tf.data.Dataset.from_tensor_slices((paths, labels))
    return dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def load_banana_detection(split_dir, image_size=None, max_objects=None):
    """Reads one split in the d2l banana-detection layout as a `tf.data.Dataset`.

    Reads the d2l banana dataset (`bananas_train/`, `bananas_val/`) and the package's
    synthetic detection dataset (`kerasnotes.data.detection.synthetic_detection`) alike.

    Args:
        split_dir: the split folder holding `label.csv` and `images/`.
        image_size: `None` (keep the file's size), an int `S` (resize to `S x S`) or a
            `(height, width)` pair.
        max_objects: label rows per image (padding with class -1); `None`: the largest
            number of objects of an image of this split (at least 1). An image with more
            objects raises `ValueError`.

    Returns:
        a `tf.data.Dataset` of `(image uint8 (H, W, 3), labels float32 (max_objects, 5))`,
        labels rows `(class, xmin, ymin, xmax, ymax)` with normalized corners, padding rows
        `(-1, 0, 0, 0, 0)`, in `label.csv` order.

    Raises:
        ValueError: see `read_banana_labels`; bad `image_size` or `max_objects`.

    Example:

    >>> dataset = load_banana_detection("data/synthetic_detection/bananas_val",
    ...                                 max_objects=3)  # doctest: +SKIP
    >>> image, labels = next(iter(dataset))  # (256, 256, 3) uint8, (3, 5) float32
    """
    function = "load_banana_detection"
    image_size = check_image_size(function, image_size)
    max_objects = check_positive_int(function, "max_objects", max_objects)
    records = read_banana_labels(split_dir)
    return detection_dataset_from_records(records, image_size, max_objects)
