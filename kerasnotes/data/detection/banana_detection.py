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

`label.csv` and `classes.txt` must be UTF-8 text with lines of at most `MAX_LINE_BYTES`;
a file that is not (a binary file, a foreign encoding), a row with another number of
columns, a non-integer class or non-numeric corners is a `ValueError` naming the file and
line. The rows are checked as NumPy columns: reading is linear in the rows (200,000 rows in
a few seconds).

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


# The longest label.csv line read: an image file name and five numbers fit easily; a longer
# line (e.g. a binary or foreign file) is refused by number before it is held in memory.
MAX_LINE_BYTES = 4096


def read_text_lines(path, what="text file", max_line_bytes=None):
    """The lines of a UTF-8 text file (a leading byte-order mark dropped), without their
    line ends. A `ValueError` names the file and line of a line that is not UTF-8 (the
    byte shown) or longer than `max_line_bytes`.

    >>> read_text_lines("bananas/classes.txt", "class names file")  # doctest: +SKIP
    ['banana']
    """
    with open(path, "rb") as file:
        contents = file.read()
    try:
        text = contents.decode("utf-8")
    except UnicodeDecodeError as error:
        line = contents.count(b"\n", 0, error.start) + 1
        column = error.start - (contents.rfind(b"\n", 0, error.start) + 1) + 1
        raise ValueError(f"{path}:{line}: not UTF-8 text (byte 0x{contents[error.start]:02x} "
                         f"at column {column}); the {what} must be UTF-8") from None
    lines = [line.removesuffix("\r") for line in text.removeprefix("\ufeff").split("\n")]
    if lines[-1] == "":  # the end of the last line
        lines.pop()
    if max_line_bytes is not None and lines:
        longest = max(range(len(lines)), key=lambda i: len(lines[i]))
        if len(lines[longest].encode("utf-8")) > max_line_bytes:
            raise ValueError(f"{path}:{longest + 1}: line longer than {max_line_bytes} "
                             f"bytes; is this the {what}?")
    return lines


def read_class_names(split_dir, num_classes=None):
    """Class names of a detection split: `classes.txt` in `split_dir` or its parent folder.

    Without a `classes.txt`, the names are `"class_0" ... "class_{k-1}"` for
    `k = num_classes` (required then). A `classes.txt` that is not UTF-8 text is a
    `ValueError` naming its file and line.

    Returns:
        a tuple of strings, indexed by class id.
    """
    split_dir = os.fspath(split_dir)
    for folder in (split_dir, os.path.dirname(os.path.abspath(split_dir))):
        path = os.path.join(folder, CLASS_NAMES_FILE)
        if os.path.isfile(path):
            lines = read_text_lines(path, "class names file (one name per line)",
                                    MAX_LINE_BYTES)
            names = tuple(line.strip() for line in lines if line.strip())
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
    from the file headers). Errors name the file and line. The rows are checked as NumPy
    columns, so the time is linear in the rows (200,000 rows take about a second); a
    line longer than `MAX_LINE_BYTES`, or not UTF-8, is refused by number.

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
    numbers, rows = _read_rows(label_path)
    if not rows:
        raise _layout_error(label_path, "the image folder has no labels (no rows after the header)")

    def where(i):
        return f"{label_path}:{numbers[i]}"

    columns = np.array(rows, dtype=str)  # (rows, 6)
    names = [name.strip() for name in columns[:, 0].tolist()]
    labels = _integer_column(where, columns[:, 1])
    has_object = labels != -1
    if np.any(labels < -1):
        bad = int(np.argmax(labels < -1))
        raise ValueError(f"{where(bad)}: label must be a class id >= 0 (or -1 for an image "
                         f"without objects); received {labels[bad]}")
    corners = _corner_columns(where, columns[:, 2:], has_object)

    # Images in order of first appearance; each row's image index.
    order = {}
    image_of_row = np.array([order.setdefault(name, len(order)) for name in names])
    first_row = np.full(len(order), len(names))
    np.minimum.at(first_row, image_of_row, np.arange(len(names)))
    sizes = np.zeros((len(order), 2))
    for index, name in enumerate(order):
        at = where(first_row[index])
        image_path = os.path.join(images_dir, name)
        if not os.path.isfile(image_path):
            raise ValueError(f"{at}: image {name!r} not found in {images_dir}")
        try:
            sizes[index] = image_size_from_header(image_path)
        except ValueError as error:
            raise ValueError(f"{at}: {error}") from None
    _check_boxes(where, corners, sizes[image_of_row], has_object)

    normalized = corners / np.tile(sizes[image_of_row], 2)
    table = np.concatenate([labels[:, None], normalized], axis=1).astype("float32")
    # Rows grouped by image, in file order within an image (a stable sort).
    by_image = np.argsort(image_of_row, kind="stable")
    by_image = by_image[has_object[by_image]]
    counts = np.bincount(image_of_row[by_image], minlength=len(order))
    groups = np.split(table[by_image], np.cumsum(counts)[:-1])
    return [DetectionRecord(os.path.join(images_dir, name), int(sizes[i][0]),
                            int(sizes[i][1]), groups[i], annotation=where(first_row[i]))
            for i, name in enumerate(order)]


def _read_rows(label_path):
    """`(line numbers, rows)` of the CSV rows after the checked header (blank rows left
    out); every row has the six columns. Lines without a quote are split on commas (fast);
    a file with quotes goes through the `csv` module."""
    lines = read_text_lines(label_path, "label file (a CSV)", MAX_LINE_BYTES)
    numbers = [1] + [n for n, line in enumerate(lines[1:], 2) if line.strip(" \t,")]
    body = [lines[n - 1] for n in numbers] if lines else []
    if any('"' in line for line in body):
        reader, rows = csv.reader(body, strict=True), []
        try:
            rows.extend(reader)
        except csv.Error as error:
            raise ValueError(f"{label_path}:{numbers[reader.line_num - 1]}: not a CSV row "
                             f"({error})") from None
    else:
        rows = [line.split(",") for line in body]
    header = rows[0] if rows else None
    if header is None or tuple(column.strip() for column in header) != LABEL_COLUMNS:
        raise _layout_error(f"{label_path}:1", f"bad header {','.join(header or [])!r}")
    numbers, rows = numbers[1:], rows[1:]
    widths = np.fromiter(map(len, rows), int, len(rows))
    if np.any(widths != len(LABEL_COLUMNS)):
        bad = int(np.argmax(widths != len(LABEL_COLUMNS)))
        raise ValueError(
            f"{label_path}:{numbers[bad]}: expected {len(LABEL_COLUMNS)} columns "
            f"({','.join(LABEL_COLUMNS)}); received {widths[bad]}")
    return numbers, rows


def _integer_column(where, cells):
    """The class column (strings) as int64; the first cell that is not an integer is
    named."""
    try:
        return cells.astype(np.int64)
    except (ValueError, OverflowError):
        for i, cell in enumerate(cells.tolist()):
            try:
                int(cell)
            except ValueError:
                raise ValueError(f"{where(i)}: label must be an integer; received "
                                 f"{cell!r}") from None
        raise


def _corner_columns(where, cells, has_object):
    """float64 `(rows, 4)` pixel corners of the string columns `cells` (zeros on rows
    without an object, whose corners are not read); the first non-numeric or non-finite
    corner is named."""
    corners = np.zeros(cells.shape)
    selected = np.flatnonzero(has_object)
    try:
        values = cells[selected].astype(np.float64)
    except ValueError:
        for i in selected:
            row = cells[i].tolist()
            try:
                [float(cell) for cell in row]
            except ValueError:
                raise ValueError(f"{where(i)}: box corners must be numbers; received "
                                 f"{row}") from None
        raise
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        i = selected[np.argmax(bad)]
        raise ValueError(f"{where(i)}: box corners must be finite; received "
                         f"{cells[i].tolist()}")
    corners[selected] = values
    return corners


def _check_boxes(where, corners, sizes, has_object):
    """`check_pixel_box`'s rule on every row with an object at once; the first bad row is
    checked again by `check_pixel_box` for its message."""
    xmin, ymin, xmax, ymax = corners.T
    width, height = sizes.T
    bad = has_object & ~((xmin < xmax) & (ymin < ymax) & (xmin >= 0) & (ymin >= 0)
                         & (xmax <= width) & (ymax <= height))
    if bad.any():
        i = int(np.argmax(bad))
        check_pixel_box(where(i), *corners[i], int(width[i]), int(height[i]))


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
