"""Pascal VOC object detection (`Annotations/*.xml`, `JPEGImages/`, `ImageSets/Main/`).

A VOC root folder (e.g. `VOCdevkit/VOC2012`) holds:

    Annotations/<id>.xml        one annotation per image (see below)
    JPEGImages/<id>.jpg         the images
    ImageSets/Main/<split>.txt  the image ids of a split, one per line (train, val, ...)

An annotation names the image size and its objects:

    <annotation>
      <size><width>500</width><height>375</height><depth>3</depth></size>
      <object>
        <name>dog</name><difficult>0</difficult>
        <bndbox><xmin>48</xmin><ymin>240</ymin><xmax>195</xmax><ymax>371</ymax></bndbox>
      </object>
      ...
    </annotation>

VOC pixel coordinates are 1-based (the top-left pixel is `(1, 1)`); like TensorFlow Datasets'
`voc` builder, the normalized corners are `(xmin - 1) / width`, `(ymin - 1) / height`,
`(xmax - 1) / width`, `(ymax - 1) / height`. Classes are indexed by `VOC_CLASS_NAMES` (the
20 VOC classes in their usual alphabetical order). The elements are those of
`kerasnotes.data.detection.detection_records`: `(image uint8 (H, W, 3), labels float32
(max_objects, 5))`, rows `(class, xmin, ymin, xmax, ymax)` normalized, padding rows
`(-1, 0, 0, 0, 0)`. `load_voc_detection` decodes every image once when it opens the split:
a truncated or corrupt JPEG, or one whose size is not the XML's `<size>`, is a `ValueError`
naming the file.
"""

import os
import xml.etree.ElementTree as ElementTree
from xml.parsers import expat

import numpy as np

from kerasnotes.data.detection.banana_detection import read_text_lines
from kerasnotes.data.detection.detection_records import (
    DetectionRecord,
    check_image_size,
    check_pixel_box,
    check_positive_int,
    detection_dataset_from_records,
    image_size_from_header,
)

VOC_CLASS_NAMES = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa",
    "train", "tvmonitor",
)

EXPECTED_VOC_LAYOUT = (
    "expected the Pascal VOC layout: <root>/Annotations/<id>.xml, <root>/JPEGImages/<id>.jpg "
    "and <root>/ImageSets/Main/<split>.txt listing the image ids"
)


def _parse_xml(path):
    """Parses an XML file into an ElementTree element; returns `(root, lines)` where
    `lines[element]` is the line on which `element` starts."""
    builder = ElementTree.TreeBuilder()
    parser = expat.ParserCreate()
    lines = {}

    def start(tag, attributes):
        lines[builder.start(tag, attributes)] = parser.CurrentLineNumber

    parser.StartElementHandler = start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    with open(path, "rb") as file:
        contents = file.read()
    try:
        parser.Parse(contents, True)
    except expat.ExpatError as error:
        raise ValueError(f"{path}:{error.lineno}: malformed XML ({error})") from None
    return builder.close(), lines


def _child(element, tag, path, lines, function=str):
    child = element.find(tag)
    where = f"{path}:{lines.get(element, 1)}"
    if child is None or child.text is None or not child.text.strip():
        raise ValueError(f"{where}: <{element.tag}> has no <{tag}>")
    try:
        return function(child.text.strip())
    except ValueError:
        raise ValueError(
            f"{path}:{lines.get(child, 1)}: <{tag}> must be a number; received "
            f"{child.text.strip()!r}"
        ) from None


def parse_voc_annotation(path, image_path=None, include_difficult=False):
    """Parses one VOC annotation file into a `DetectionRecord`.

    Args:
        path: the XML file.
        image_path: the image file; when the XML has no `<size>`, its size is read from the
            image header. Default: `None` (the record's `image_path` is then `""`).
        include_difficult: keep objects marked `<difficult>1</difficult>` (default: drop
            them, as VOC's evaluation ignores them).

    Returns:
        a `DetectionRecord` with normalized boxes `((x - 1) / width, ...)`.

    Raises:
        ValueError: malformed XML, unknown class name, missing or non-numeric fields, or a
            box with `xmin >= xmax`, `ymin >= ymax` or outside `[1, width] x [1, height]`;
            the message starts with `path:line`.
    """
    path = os.fspath(path)
    root, lines = _parse_xml(path)
    size = root.find("size")
    if size is not None:
        width = _child(size, "width", path, lines, int)
        height = _child(size, "height", path, lines, int)
    elif image_path is not None:
        width, height = image_size_from_header(image_path)
    else:
        raise ValueError(f"{path}:{lines.get(root, 1)}: <annotation> has no <size>")
    if width < 1 or height < 1:
        raise ValueError(f"{path}:{lines.get(size, 1)}: image size {width}x{height} is empty")
    labels = []
    for obj in root.iter("object"):
        where = f"{path}:{lines[obj]}"
        name = _child(obj, "name", path, lines)
        if name not in VOC_CLASS_NAMES:
            raise ValueError(f"{where}: unknown VOC class name {name!r}")
        difficult = obj.find("difficult")
        is_difficult = difficult is not None and (difficult.text or "0").strip() == "1"
        if is_difficult and not include_difficult:
            continue
        box = obj.find("bndbox")
        if box is None:
            raise ValueError(f"{where}: <object> has no <bndbox>")
        xmin, ymin, xmax, ymax = (
            _child(box, tag, path, lines, float) for tag in ("xmin", "ymin", "xmax", "ymax")
        )
        check_pixel_box(f"{path}:{lines[box]}", xmin, ymin, xmax, ymax, width, height,
                        origin=1.0)
        labels.append((VOC_CLASS_NAMES.index(name), (xmin - 1.0) / width,
                       (ymin - 1.0) / height, (xmax - 1.0) / width, (ymax - 1.0) / height))
    labels = np.array(labels, "float32").reshape(-1, 5)
    annotation = f"{path}:{lines[size]} <size>" if size is not None else path
    return DetectionRecord(os.fspath(image_path or ""), width, height, labels, annotation)


def read_voc_annotations(voc_root, split="train", include_difficult=False):
    """Reads the annotations of a VOC split, in the order of `ImageSets/Main/<split>.txt`.

    Args:
        voc_root: the folder holding `Annotations/`, `JPEGImages/` and `ImageSets/Main/`.
        split: the image set name, e.g. `"train"`, `"val"`, `"trainval"`.
        include_difficult: keep objects marked difficult.

    Returns:
        a list of `DetectionRecord` (images whose objects are all difficult and dropped keep
        a record with no objects).

    Raises:
        ValueError: a missing folder, image set, annotation or image (naming the path and
            the expected layout), an empty image set, or a bad annotation (`file:line`).
    """
    voc_root = os.fspath(voc_root)
    annotations = os.path.join(voc_root, "Annotations")
    images = os.path.join(voc_root, "JPEGImages")
    image_set = os.path.join(voc_root, "ImageSets", "Main", f"{split}.txt")
    for folder in (voc_root, annotations, images):
        if not os.path.isdir(folder):
            raise ValueError(f"{folder}: missing folder; {EXPECTED_VOC_LAYOUT}")
    if not os.path.isfile(image_set):
        raise ValueError(f"{image_set}: missing image set {split!r}; {EXPECTED_VOC_LAYOUT}")
    lines = read_text_lines(image_set, "image set (one image id per line)")
    ids = [(number, line.split()[0]) for number, line in enumerate(lines, 1) if line.strip()]
    if not ids:
        raise ValueError(f"{image_set}: the image set lists no images; {EXPECTED_VOC_LAYOUT}")
    records = []
    for number, image_id in ids:
        xml_path = os.path.join(annotations, f"{image_id}.xml")
        image_path = os.path.join(images, f"{image_id}.jpg")
        for needed in (xml_path, image_path):
            if not os.path.isfile(needed):
                raise ValueError(f"{image_set}:{number}: {needed} not found; "
                                 f"{EXPECTED_VOC_LAYOUT}")
        records.append(parse_voc_annotation(xml_path, image_path, include_difficult))
    return records


def load_voc_detection(voc_root, split="train", image_size=None, max_objects=None,
                       include_difficult=False):
    """Reads a Pascal VOC detection split as a `tf.data.Dataset`.

    Args:
        voc_root: the folder holding `Annotations/`, `JPEGImages/` and `ImageSets/Main/`
            (e.g. `VOCdevkit/VOC2012`).
        split: the image set, e.g. `"train"` or `"val"`.
        image_size: `None` (keep each image's size), an int `S` (resize to `S x S`) or a
            `(height, width)` pair.
        max_objects: label rows per image; `None`: the largest number of (kept) objects of
            an image of the split (at least 1).
        include_difficult: keep objects marked difficult (default: drop them).

    Returns:
        a `tf.data.Dataset` of `(image uint8 (H, W, 3), labels float32 (max_objects, 5))`,
        rows `(class, xmin, ymin, xmax, ymax)`, normalized corners, class indexes into
        `VOC_CLASS_NAMES`, padding rows `(-1, 0, 0, 0, 0)`.

    Raises:
        ValueError: see `read_voc_annotations`; an image that does not decode, or whose size
            is not its XML's `<size>` (both named).

    Example:

    >>> dataset = load_voc_detection("VOCdevkit/VOC2012", "val", image_size=256,
    ...                              max_objects=50)  # doctest: +SKIP
    """
    function = "load_voc_detection"
    image_size = check_image_size(function, image_size)
    max_objects = check_positive_int(function, "max_objects", max_objects)
    records = read_voc_annotations(voc_root, split, include_difficult)
    return detection_dataset_from_records(records, image_size, max_objects)
