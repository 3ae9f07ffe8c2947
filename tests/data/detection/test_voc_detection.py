import os

import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.data.detection.voc_detection import (
    VOC_CLASS_NAMES,
    load_voc_detection,
    parse_voc_annotation,
    read_voc_annotations,
)


def voc_xml(width, height, objects, size=True):
    """objects: (name, difficult, xmin, ymin, xmax, ymax); one XML element per line."""
    lines = ["<annotation>", "  <filename>x.jpg</filename>"]
    if size:
        lines += ["  <size>", f"    <width>{width}</width>", f"    <height>{height}</height>",
                  "    <depth>3</depth>", "  </size>"]
    for name, difficult, xmin, ymin, xmax, ymax in objects:
        lines += ["  <object>", f"    <name>{name}</name>",
                  f"    <difficult>{difficult}</difficult>", "    <bndbox>",
                  f"      <xmin>{xmin}</xmin>", f"      <ymin>{ymin}</ymin>",
                  f"      <xmax>{xmax}</xmax>", f"      <ymax>{ymax}</ymax>",
                  "    </bndbox>", "  </object>"]
    return "\n".join(lines + ["</annotation>"]) + "\n"


def write_voc(root, images, splits):
    """images: {id: (height, width, objects)}; splits: {name: [ids]}."""
    for folder in ("Annotations", "JPEGImages", os.path.join("ImageSets", "Main")):
        os.makedirs(os.path.join(root, folder), exist_ok=True)
    for seed, (image_id, (height, width, objects)) in enumerate(images.items()):
        image = np.random.default_rng(seed).integers(0, 256, (height, width, 3), np.uint8)
        with open(os.path.join(root, "JPEGImages", f"{image_id}.jpg"), "wb") as file:
            file.write(tf.io.encode_jpeg(image).numpy())
        with open(os.path.join(root, "Annotations", f"{image_id}.xml"), "w") as file:
            file.write(voc_xml(width, height, objects))
    for name, ids in splits.items():
        with open(os.path.join(root, "ImageSets", "Main", f"{name}.txt"), "w") as file:
            file.write("".join(f"{i}\n" for i in ids))


@pytest.fixture
def voc_root(tmp_path):
    root = str(tmp_path / "VOC2012")
    write_voc(
        root,
        {
            "2008_000001": (40, 60, [("dog", 0, 11, 5, 41, 25), ("person", 1, 1, 1, 60, 40)]),
            "2008_000002": (30, 20, [("aeroplane", 0, 1, 1, 20, 30)]),
            "2008_000003": (30, 20, [("tvmonitor", 0, 3, 4, 13, 24)]),
        },
        {"train": ["2008_000001", "2008_000002"], "val": ["2008_000003"]},
    )
    return root


def test_class_names():
    assert len(VOC_CLASS_NAMES) == 20 and len(set(VOC_CLASS_NAMES)) == 20
    assert VOC_CLASS_NAMES[0] == "aeroplane" and VOC_CLASS_NAMES[-1] == "tvmonitor"
    assert VOC_CLASS_NAMES.index("person") == 14


def test_exact_normalized_boxes_and_difficult(voc_root):
    records = read_voc_annotations(voc_root, "train")
    assert [os.path.basename(r.image_path) for r in records] == [
        "2008_000001.jpg", "2008_000002.jpg"]
    assert (records[0].width, records[0].height) == (60, 40)
    # VOC corners are 1-based: (x - 1) / width, (y - 1) / height. Difficult dropped.
    np.testing.assert_array_equal(
        records[0].labels, np.float32([[11, 10 / 60, 4 / 40, 40 / 60, 24 / 40]]))
    np.testing.assert_array_equal(records[1].labels, np.float32([[0, 0, 0, 19 / 20, 29 / 30]]))
    with_difficult = read_voc_annotations(voc_root, "train", include_difficult=True)
    np.testing.assert_array_equal(
        with_difficult[0].labels,
        np.float32([[11, 10 / 60, 4 / 40, 40 / 60, 24 / 40], [14, 0, 0, 59 / 60, 39 / 40]]))


def test_dataset_elements(voc_root):
    elements = list(load_voc_detection(voc_root, "train", max_objects=3))
    assert len(elements) == 2
    (image0, labels0), (image1, labels1) = elements
    assert image0.shape == (40, 60, 3) and image0.dtype == tf.uint8
    assert image1.shape == (30, 20, 3)
    assert labels0.shape == (3, 5) and labels0.dtype == tf.float32
    np.testing.assert_array_equal(labels0.numpy()[1:], [[-1, 0, 0, 0, 0]] * 2)
    resized = list(load_voc_detection(voc_root, "val", image_size=16))
    assert resized[0][0].shape == (16, 16, 3)
    np.testing.assert_array_equal(resized[0][1].numpy(),
                                  np.float32([[19, 2 / 20, 3 / 30, 12 / 20, 23 / 30]]))
    with_difficult = list(load_voc_detection(voc_root, "train", include_difficult=True))
    assert with_difficult[0][1].shape == (2, 5)


def test_size_from_image_header_when_xml_has_none(tmp_path):
    image = np.zeros((30, 50, 3), np.uint8)
    (tmp_path / "a.jpg").write_bytes(tf.io.encode_jpeg(image).numpy())
    (tmp_path / "a.xml").write_text(voc_xml(0, 0, [("cat", 0, 6, 4, 26, 19)], size=False))
    record = parse_voc_annotation(tmp_path / "a.xml", tmp_path / "a.jpg")
    assert (record.width, record.height) == (50, 30)
    np.testing.assert_array_equal(record.labels, np.float32([[7, 0.1, 0.1, 0.5, 0.6]]))
    with pytest.raises(ValueError, match=r"a.xml:1: <annotation> has no <size>"):
        parse_voc_annotation(tmp_path / "a.xml")


@pytest.mark.parametrize(
    "objects, message",
    [
        # Line 8 is the first <object>, line 11 its <bndbox> (see voc_xml).
        ([("unicorn", 0, 1, 1, 5, 5)], r"a.xml:8: unknown VOC class name 'unicorn'"),
        ([("cat", 0, 30, 1, 5, 5)], r"a.xml:11: box xmin=30 is not less than xmax=5"),
        ([("cat", 0, 1, 9, 5, 5)], r"a.xml:11: box ymin=9 is not less than ymax=5"),
        ([("cat", 0, 1, 1, 61, 5)], r"a.xml:11: box xmax=61 is outside the 60x40 image"),
        ([("cat", 0, 0, 1, 5, 5)], r"a.xml:11: box xmin=0 is outside the 60x40 image"),
        ([("cat", 0, 1, 1, 5, "abc")], r"a.xml:15: <ymax> must be a number; received 'abc'"),
        ([("cat", 0, 1, 1, 5, 5), ("dog", 0, 1, 1, 5, 41)],
         r"a.xml:21: box ymax=41 is outside the 60x40 image"),
    ],
)
def test_bad_annotations_name_file_and_line(tmp_path, objects, message):
    (tmp_path / "a.xml").write_text(voc_xml(60, 40, objects))
    with pytest.raises(ValueError, match=message):
        parse_voc_annotation(tmp_path / "a.xml")


def test_malformed_and_incomplete_xml(tmp_path):
    (tmp_path / "a.xml").write_text("<annotation>\n  <size>\n</annotation>\n")
    with pytest.raises(ValueError, match=r"a.xml:3: malformed XML"):
        parse_voc_annotation(tmp_path / "a.xml")
    text = voc_xml(60, 40, [("cat", 0, 1, 1, 5, 5)]).replace("    <ymin>1</ymin>\n", "")
    (tmp_path / "a.xml").write_text(text.replace("      <ymin>1</ymin>\n", ""))
    with pytest.raises(ValueError, match=r"a.xml:11: <bndbox> has no <ymin>"):
        parse_voc_annotation(tmp_path / "a.xml")


def test_layout_errors(voc_root, tmp_path):
    layout = "expected the Pascal VOC layout"
    with pytest.raises(ValueError, match=f"nowhere: missing folder; {layout}"):
        read_voc_annotations(tmp_path / "nowhere")
    with pytest.raises(ValueError, match=f"test.txt: missing image set 'test'; {layout}"):
        load_voc_detection(voc_root, "test")
    with open(os.path.join(voc_root, "ImageSets", "Main", "empty.txt"), "w") as file:
        file.write("\n")
    with pytest.raises(ValueError, match=f"empty.txt: the image set lists no images; {layout}"):
        read_voc_annotations(voc_root, "empty")
    with open(os.path.join(voc_root, "ImageSets", "Main", "more.txt"), "w") as file:
        file.write("2008_000001\n2008_000009\n")
    with pytest.raises(ValueError, match=r"more.txt:2: .*2008_000009.xml not found"):
        read_voc_annotations(voc_root, "more")
    os.remove(os.path.join(voc_root, "JPEGImages", "2008_000003.jpg"))
    with pytest.raises(ValueError, match=r"val.txt:1: .*2008_000003.jpg not found"):
        read_voc_annotations(voc_root, "val")
    with pytest.raises(ValueError, match="max_objects must be a positive integer"):
        load_voc_detection(voc_root, "train", max_objects=-1)


def truncate(path):
    with open(path, "rb") as file:
        contents = file.read()
    with open(path, "wb") as file:
        file.write(contents[: len(contents) // 2])


def test_a_truncated_jpeg_is_named_when_the_split_is_opened(voc_root):
    load_voc_detection(voc_root, "train")  # all good
    bad = os.path.join(voc_root, "JPEGImages", "2008_000002.jpg")
    truncate(bad)
    read_voc_annotations(voc_root, "train")  # the annotations alone do not decode images
    with pytest.raises(ValueError, match=rf"^{bad}: cannot decode this image \(jpeg::Uncompress "
                                         r"failed.*\); the file is truncated"):
        load_voc_detection(voc_root, "train")


def test_an_xml_size_that_is_not_the_image_size_is_named(voc_root):
    xml = os.path.join(voc_root, "Annotations", "2008_000003.xml")
    with open(xml, "w") as file:
        file.write(voc_xml(20, 31, [("tvmonitor", 0, 3, 4, 13, 24)]))  # the image is 20x30
    with pytest.raises(ValueError, match=rf"^{xml}:3 <size>: the annotation gives the image size "
                                         r"20x31 \(width x height\) but .*2008_000003.jpg is "
                                         r"20x30"):
        load_voc_detection(voc_root, "val")


def test_an_image_set_that_is_not_utf8_and_a_binary_annotation_are_named(voc_root):
    image_set = os.path.join(voc_root, "ImageSets", "Main", "train.txt")
    with open(image_set, "ab") as file:
        file.write(b"2008_00000\xff\n")
    with pytest.raises(ValueError, match=r"train.txt:3: not UTF-8 text \(byte 0xff at column "
                                         r"11\); the image set"):
        read_voc_annotations(voc_root, "train")
    with open(os.path.join(voc_root, "Annotations", "2008_000003.xml"), "wb") as file:
        file.write(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(ValueError, match=r"2008_000003.xml:1: malformed XML"):
        read_voc_annotations(voc_root, "val")
