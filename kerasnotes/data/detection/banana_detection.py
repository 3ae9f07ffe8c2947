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

The rows become `DetectionRecord`s and the dataset's elements are those of
`kerasnotes.data.detection.detection_records`: `(image uint8 (H, W, 3), labels float32
(max_objects, 5))`; every image is decoded once when the dataset is made, so a truncated
file is named at once.

The package's synthetic shapes (`synthetic_detection`) are written in this layout too, in
`train/` and `val/` split folders.
"""

import csv
import os

import numpy as np

from kerasnotes.data.detection.detection_records import (
    DetectionRecord,
    check_image_size,
    check_pixel_box,
    check_positive_int,
    detection_dataset_from_records,
    image_size_from_header,
)

LABEL_FILE = "label.csv"
IMAGES_FOLDER = "images"
CLASS_NAMES_FILE = "classes.txt"
LABEL_COLUMNS = ("img_name", "label", "xmin", "ymin", "xmax", "ymax")

EXPECTED_LAYOUT = (
    "expected the d2l banana-detection layout: <split_dir>/label.csv with the header "
    "'img_name,label,xmin,ymin,xmax,ymax' and one row per object (pixel corners; class -1 "
    "for an image without objects), and the images in <split_dir>/images/"
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

    >>> records = read_banana_labels("banana-detection/bananas_val")  # doctest: +SKIP
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
        records.append(DetectionRecord(image_path, width, height, labels,
                                       annotation=rows[0][0]))
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


def load_banana_detection(split_dir, image_size=None, max_objects=None):
    """Reads one split in the d2l banana-detection layout as a `tf.data.Dataset`.

    Reads the d2l banana dataset (`bananas_train/`, `bananas_val/`) and the package's
    synthetic detection dataset (`train/`, `val/` of
    `kerasnotes.data.detection.synthetic_detection`) alike. Every image is decoded once
    first: a truncated or corrupt one raises `ValueError` naming the file.

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
        ValueError: see `read_banana_labels`; an image that does not decode (named); bad
            `image_size` or `max_objects`.

    Example:

    >>> dataset = load_banana_detection("banana-detection/bananas_val",
    ...                                 max_objects=3)  # doctest: +SKIP
    >>> image, labels = next(iter(dataset))  # (256, 256, 3) uint8, (3, 5) float32
    """
    function = "load_banana_detection"
    image_size = check_image_size(function, image_size)
    max_objects = check_positive_int(function, "max_objects", max_objects)
    records = read_banana_labels(split_dir)
    return detection_dataset_from_records(records, image_size, max_objects)
