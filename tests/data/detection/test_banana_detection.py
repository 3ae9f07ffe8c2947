import os

import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.data.detection.banana_detection import (
    load_banana_detection,
    read_banana_labels,
    read_class_names,
)
from kerasnotes.data.detection.detection_records import (
    DetectionRecord,
    detection_dataset_from_records,
    image_size_from_header,
)
from kerasnotes.ops.anchor_matching import multibox_target

HEADER = "img_name,label,xmin,ymin,xmax,ymax\n"


def write_image(path, height, width, seed=0, fmt="png"):
    image = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    encoded = tf.io.encode_png(image) if fmt == "png" else tf.io.encode_jpeg(image)
    with open(path, "wb") as file:
        file.write(encoded.numpy())
    return image


def write_split(split_dir, images, rows, header=HEADER):
    """images: {name: (height, width)}; rows: label.csv lines after the header."""
    os.makedirs(os.path.join(split_dir, "images"), exist_ok=True)
    pixels = {}
    for seed, (name, (height, width)) in enumerate(images.items()):
        pixels[name] = write_image(os.path.join(split_dir, "images", name), height, width, seed)
    with open(os.path.join(split_dir, "label.csv"), "w") as file:
        file.write(header + "".join(row + "\n" for row in rows))
    return pixels


@pytest.fixture
def split(tmp_path):
    split_dir = str(tmp_path / "bananas_train")
    pixels = write_split(
        split_dir,
        {"a.png": (50, 100), "b.png": (40, 80), "c.png": (50, 100)},
        ["a.png,1,10,5,60,45", "b.png,-1,0,0,0,0", "a.png,0,0,0,100,50", "c.png,2,20,10,40,30"],
    )
    return split_dir, pixels


def test_records_have_exact_normalized_boxes(split):
    split_dir, _ = split
    records = read_banana_labels(split_dir)
    assert [os.path.basename(r.image_path) for r in records] == ["a.png", "b.png", "c.png"]
    assert [(r.width, r.height) for r in records] == [(100, 50), (80, 40), (100, 50)]
    np.testing.assert_array_equal(
        records[0].labels,
        np.array([[1, 10 / 100, 5 / 50, 60 / 100, 45 / 50], [0, 0, 0, 1, 1]], "float32"),
    )
    assert records[1].labels.shape == (0, 5) and records[1].num_objects == 0
    np.testing.assert_array_equal(
        records[2].labels, np.array([[2, 0.2, 0.2, 0.4, 0.6]], "float32")
    )


def test_dataset_elements(split):
    split_dir, pixels = split
    elements = list(load_banana_detection(split_dir))
    assert len(elements) == 3
    image, labels = elements[0]
    assert image.dtype == tf.uint8 and image.shape == (50, 100, 3)
    np.testing.assert_array_equal(image.numpy(), pixels["a.png"])  # PNG is lossless
    assert labels.dtype == tf.float32 and labels.shape == (2, 5)  # max_objects: largest count
    np.testing.assert_array_equal(elements[1][1].numpy(), [[-1, 0, 0, 0, 0]] * 2)
    np.testing.assert_array_equal(
        elements[2][1].numpy(), np.array([[2, 0.2, 0.2, 0.4, 0.6], [-1, 0, 0, 0, 0]], "float32")
    )
    padded = list(load_banana_detection(split_dir, max_objects=4))
    assert padded[0][1].shape == (4, 5)
    np.testing.assert_array_equal(padded[0][1].numpy()[2:], [[-1, 0, 0, 0, 0]] * 2)


def test_resize_keeps_normalized_boxes(split):
    split_dir, pixels = split
    image, labels = next(iter(load_banana_detection(split_dir, image_size=(25, 30))))
    assert image.shape == (25, 30, 3) and image.dtype == tf.uint8
    expected = tf.cast(tf.round(tf.image.resize(pixels["a.png"], (25, 30))), tf.uint8)
    np.testing.assert_array_equal(image.numpy(), expected.numpy())
    np.testing.assert_array_equal(labels.numpy()[0], np.float32([1, 0.1, 0.1, 0.6, 0.9]))
    square, _ = next(iter(load_banana_detection(split_dir, image_size=32)))
    assert square.shape == (32, 32, 3)


def test_d2l_banana_rows(tmp_path):
    # The first rows of d2l's bananas_train/label.csv (256x256 images, one banana each).
    split_dir = str(tmp_path / "bananas_train")
    write_split(split_dir, {"0.png": (256, 256), "1.png": (256, 256)},
                ["0.png,0,104,20,143,58", "1.png,0,68,175,118,223"])
    labels = np.stack([label.numpy() for _, label in load_banana_detection(split_dir)])
    np.testing.assert_array_equal(
        labels,
        np.float32([[[0, 104 / 256, 20 / 256, 143 / 256, 58 / 256]],
                    [[0, 68 / 256, 175 / 256, 118 / 256, 223 / 256]]]),
    )


def test_labels_feed_multibox_target(split):
    split_dir, _ = split
    _, labels = next(iter(load_banana_detection(split_dir, image_size=16).batch(3)))
    anchors = [[0.1, 0.1, 0.6, 0.9], [0.0, 0.0, 1.0, 1.0], [0.2, 0.2, 0.4, 0.6],
               [0.8, 0.8, 0.9, 0.9]]
    _, mask, classes = multibox_target(anchors, labels)
    # Image a: anchor 0 is box "1" (class 1 -> 2), anchor 1 the whole image (class 0 -> 1).
    # Image b has no object. Image c: anchor 2 is its box (class 2 -> 3).
    np.testing.assert_array_equal(classes.numpy(), [[2, 1, 0, 0], [0, 0, 0, 0], [0, 0, 3, 0]])
    assert mask.numpy()[1].sum() == 0


def test_jpeg_and_header_sizes(tmp_path):
    write_image(tmp_path / "x.jpg", 21, 34, fmt="jpeg")
    write_image(tmp_path / "x.png", 13, 7)
    assert image_size_from_header(tmp_path / "x.jpg") == (34, 21)
    assert image_size_from_header(tmp_path / "x.png") == (7, 13)
    (tmp_path / "bad.jpg").write_bytes(b"not an image at all")
    with pytest.raises(ValueError, match="bad.jpg: not a readable"):
        image_size_from_header(tmp_path / "bad.jpg")


def test_class_names(tmp_path):
    split_dir = tmp_path / "root" / "bananas_val"
    split_dir.mkdir(parents=True)
    assert read_class_names(split_dir, num_classes=2) == ("class_0", "class_1")
    with pytest.raises(ValueError, match="no classes.txt"):
        read_class_names(split_dir)
    (tmp_path / "root" / "classes.txt").write_text("banana\n\nkiwi\n")
    assert read_class_names(split_dir) == ("banana", "kiwi")
    (split_dir / "classes.txt").write_text("pear\n")
    assert read_class_names(split_dir) == ("pear",)
    (split_dir / "classes.txt").write_text("\n")
    with pytest.raises(ValueError, match="classes.txt: no class names"):
        read_class_names(split_dir)


@pytest.mark.parametrize(
    "row, message",
    [
        ("a.png,0,60,5,10,45", r"label.csv:3: box xmin=60 is not less than xmax=10"),
        ("a.png,0,10,45,60,5", r"label.csv:3: box ymin=45 is not less than ymax=5"),
        ("a.png,0,10,5,101,45", r"label.csv:3: box xmax=101 is outside the 100x50 image"),
        ("a.png,0,-1,5,10,45", r"label.csv:3: box xmin=-1 is outside the 100x50 image"),
        ("a.png,0,10,5,60,51", r"label.csv:3: box ymax=51 is outside the 100x50 image"),
        ("a.png,-2,10,5,60,45", r"label.csv:3: label must be a class id >= 0"),
        ("a.png,x,10,5,60,45", r"label.csv:3: label must be an integer; received 'x'"),
        ("a.png,0,10,5,60", r"label.csv:3: expected 6 columns"),
        ("a.png,0,10,five,60,45", r"label.csv:3: box corners must be numbers"),
        ("a.png,0,10,nan,60,45", r"label.csv:3: box corners must be finite"),
        ("zz.png,0,10,5,60,45", r"label.csv:3: image 'zz.png' not found in .*images"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path, row, message):
    split_dir = str(tmp_path / "split")
    write_split(split_dir, {"a.png": (50, 100)}, ["a.png,1,10,5,60,45", row])
    with pytest.raises(ValueError, match=message):
        read_banana_labels(split_dir)
    with pytest.raises(ValueError, match=message):
        load_banana_detection(split_dir)


def test_corrupt_image_names_file_and_line(tmp_path):
    split_dir = str(tmp_path / "split")
    write_split(split_dir, {"a.png": (50, 100)}, ["a.png,1,10,5,60,45", "bad.jpg,0,1,1,2,2"])
    with open(os.path.join(split_dir, "images", "bad.jpg"), "wb") as file:
        file.write(b"\xff\xd8 truncated")
    with pytest.raises(ValueError, match=r"label.csv:3: .*bad.jpg: not a readable"):
        read_banana_labels(split_dir)


def test_layout_errors(tmp_path):
    layout = "expected the d2l banana-detection layout"
    missing = tmp_path / "nowhere"
    with pytest.raises(ValueError, match=f"nowhere: no such folder; {layout}"):
        read_banana_labels(missing)
    split_dir = tmp_path / "split"
    split_dir.mkdir()
    (split_dir / "label.csv").write_text(HEADER + "a.png,0,1,1,2,2\n")
    with pytest.raises(ValueError, match=f"images: missing images folder; {layout}"):
        read_banana_labels(split_dir)
    (split_dir / "label.csv").unlink()
    (split_dir / "images").mkdir()
    write_image(split_dir / "images" / "a.png", 8, 8)
    with pytest.raises(ValueError, match=f"label.csv: missing label file; {layout}"):
        read_banana_labels(split_dir)
    (split_dir / "label.csv").write_text(HEADER + "\n")
    with pytest.raises(ValueError, match=f"label.csv: the image folder has no labels .*{layout}"):
        load_banana_detection(split_dir)
    (split_dir / "label.csv").write_text("name,class,x0,y0,x1,y1\na.png,0,1,1,2,2\n")
    with pytest.raises(ValueError, match=f"label.csv:1: bad header 'name,class.*{layout}"):
        read_banana_labels(split_dir)


def test_too_many_objects_and_bad_arguments(split):
    split_dir, _ = split
    with pytest.raises(ValueError, match=r"a.png has 2 objects, more than max_objects=1"):
        load_banana_detection(split_dir, max_objects=1)
    with pytest.raises(ValueError, match=r"max_objects must be a positive integer or None; "
                                         r"received max_objects=0"):
        load_banana_detection(split_dir, max_objects=0)
    for bad in (0, (3,), (2, -1), 2.5, True):
        with pytest.raises(ValueError, match="image_size must be None, a positive integer"):
            load_banana_detection(split_dir, image_size=bad)
    with pytest.raises(ValueError, match="records is empty"):
        detection_dataset_from_records([])


def test_dataset_from_records_has_random_access(split):
    split_dir, pixels = split
    records = read_banana_labels(split_dir)
    records.append(DetectionRecord(records[0].image_path, 100, 50,
                                   np.zeros((0, 5), "float32")))
    dataset = detection_dataset_from_records(records, max_objects=3)
    assert int(dataset.cardinality()) == 4
    image, labels = tf.data.experimental.at(dataset, 2)
    np.testing.assert_array_equal(image.numpy(), pixels["c.png"])
    np.testing.assert_array_equal(labels.numpy()[0], np.float32([2, 0.2, 0.2, 0.4, 0.6]))
    np.testing.assert_array_equal(tf.data.experimental.at(dataset, 3)[1].numpy(),
                                  [[-1, 0, 0, 0, 0]] * 3)


def test_a_truncated_or_corrupt_image_is_named_when_the_split_is_opened(split):
    split_dir, _ = split
    path = os.path.join(split_dir, "images", "c.png")
    with open(path, "rb") as file:
        contents = file.read()
    with open(path, "wb") as file:
        file.write(contents[: len(contents) // 2])  # the header (and size) still reads
    assert len(read_banana_labels(split_dir)) == 3
    with pytest.raises(ValueError, match=rf"^{path}: cannot decode this image \(Invalid PNG "
                                         r"data.*\); the file is truncated"):
        load_banana_detection(split_dir)
    jpeg = os.path.join(split_dir, "images", "a.png")
    write_image(jpeg, 50, 100, fmt="jpeg")  # a JPEG under a .png name decodes as well
    with open(jpeg, "rb") as file:
        contents = file.read()
    with open(jpeg, "wb") as file:
        file.write(contents[:-400])
    with pytest.raises(ValueError, match=rf"^{jpeg}: cannot decode this image \(jpeg::"):
        load_banana_detection(split_dir)
    records = read_banana_labels(split_dir)
    assert detection_dataset_from_records(records, check_images=False).cardinality() == 3


@pytest.mark.parametrize(
    "contents, message",
    [
        (b"PK\x03\x04\x84\x00\xff" * 50,
         r"label.csv:1: not UTF-8 text \(byte 0x84 at column 5\); the label file"),
        (HEADER.encode() + b"a.png,1,10,5,60,45\na.png,0,1,1,5," + b"9" * 1_000_000 + b"\n",
         r"label.csv:3: line longer than 4096 bytes; is this the label file"),
        (HEADER.encode() + b'a.png,1,10,5,60,45\n"a.png,0,1,1\n',
         r"label.csv:3: not a CSV row \(unexpected end of data\)"),
        (HEADER.encode() + b"a.png,1,10,5,60,45\n\na.png,1,10,5,60,45,7\n",
         r"label.csv:4: expected 6 columns"),
        (HEADER.encode() + b"a.png,1,10,5,60,45\nb.png,-1,x,y,z,w\na.png,1,1,2,3,four\n",
         r"label.csv:4: box corners must be numbers; received \['1', '2', '3', 'four'\]"),
    ],
)
def test_unreadable_label_files_name_file_and_line(tmp_path, contents, message):
    split_dir = str(tmp_path / "split")
    write_split(split_dir, {"a.png": (50, 100), "b.png": (50, 100)}, [])
    with open(os.path.join(split_dir, "label.csv"), "wb") as file:
        file.write(contents)
    with pytest.raises(ValueError, match=message):
        read_banana_labels(split_dir)


def test_a_class_names_file_that_is_not_utf8_is_named(tmp_path):
    (tmp_path / "classes.txt").write_bytes("banana\ncafé\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"classes.txt:2: not UTF-8 text \(byte 0xe9 at "
                                         r"column 4\); the class names file"):
        read_class_names(str(tmp_path / "bananas_train"))
    (tmp_path / "classes.txt").write_bytes("\ufeffbanana\r\ncafé\r\n".encode())
    assert read_class_names(str(tmp_path / "bananas_train")) == ("banana", "café")


def test_many_rows_group_by_image_in_file_order(tmp_path):
    """20,000 rows over 4 images, interleaved, a quoted row and a no-object row: the
    vectorized reader gives each image its rows in file order, as a row-by-row reader."""
    rng = np.random.default_rng(0)
    names = rng.integers(0, 4, 20_000)
    corners = rng.integers(0, 40, (20_000, 2))
    rows = [f"{n}.png,{n % 3},{x},{y},{x + 9},{y + 9}"
            for n, (x, y) in zip(names, corners, strict=True)]
    rows[5] = f'"{names[5]}.png",{names[5] % 3},1,2,3,4'
    rows.append("4.png,-1,,,,")
    write_split(str(tmp_path), {f"{i}.png": (50, 100) for i in range(5)}, rows)
    records = read_banana_labels(str(tmp_path))
    assert [os.path.basename(r.image_path) for r in records] == [
        f"{i}.png" for i in dict.fromkeys(names.tolist())] + ["4.png"]
    for record in records[:4]:
        image = int(os.path.basename(record.image_path)[0])
        expected = [(image % 3, x / 100, y / 50, (x + 9) / 100, (y + 9) / 50)
                    for n, (x, y) in zip(names, corners, strict=True) if n == image]
        if names[5] == image:
            expected[list(np.flatnonzero(names == image)).index(5)] = (
                image % 3, 0.01, 0.04, 0.03, 0.08)
        np.testing.assert_allclose(record.labels, np.array(expected, "float32"), rtol=1e-6)
    assert records[4].labels.shape == (0, 5)


def dataset_elements(dataset):
    return [(image.numpy(), labels.numpy()) for image, labels in dataset]


def test_images_of_one_size_within_the_budget_are_kept_in_memory(split):
    split_dir, pixels = split
    records = read_banana_labels(split_dir)
    same_size = [records[0], records[2]]  # a.png and c.png are 50x100
    streamed = dataset_elements(detection_dataset_from_records(same_size, max_objects=2,
                                                               in_memory_bytes=0))
    kept = detection_dataset_from_records(same_size, max_objects=2,
                                          in_memory_bytes=2 * 50 * 100 * 3)
    for name in ("a.png", "c.png"):  # an epoch reads no file now
        os.remove(os.path.join(split_dir, "images", name))
    elements = dataset_elements(kept)
    assert len(elements) == len(streamed) == 2
    for (image, labels), (want_image, want_labels) in zip(elements, streamed):
        np.testing.assert_array_equal(image, want_image)
        np.testing.assert_array_equal(labels, want_labels)
    np.testing.assert_array_equal(elements[1][0], pixels["c.png"])
    np.testing.assert_array_equal(tf.data.experimental.at(kept, 1)[0].numpy(), pixels["c.png"])


def test_images_resized_to_one_size_are_kept_in_memory(split):
    split_dir, _ = split
    records = read_banana_labels(split_dir)  # 50x100, 40x80, 50x100: one size once resized
    streamed = dataset_elements(detection_dataset_from_records(records, 32, in_memory_bytes=0))
    kept = detection_dataset_from_records(records, 32)
    for name in ("a.png", "b.png", "c.png"):
        os.remove(os.path.join(split_dir, "images", name))
    for (image, labels), (want_image, want_labels) in zip(dataset_elements(kept), streamed):
        np.testing.assert_array_equal(image, want_image)
        np.testing.assert_array_equal(labels, want_labels)


@pytest.mark.parametrize("case", ["sizes differ", "over the budget", "not checked"])
def test_images_are_read_from_their_files_otherwise(split, case):
    split_dir, _ = split
    records = read_banana_labels(split_dir)
    options = {"sizes differ": {},
               "over the budget": {"in_memory_bytes": 3 * 32 * 32 * 3 - 1, "image_size": 32},
               "not checked": {"check_images": False, "image_size": 32}}[case]
    dataset = detection_dataset_from_records(records, **options)
    os.remove(os.path.join(split_dir, "images", "c.png"))
    with pytest.raises(tf.errors.NotFoundError):
        dataset_elements(dataset)


def test_in_memory_bytes_must_be_a_non_negative_integer(split):
    records = read_banana_labels(split[0])
    with pytest.raises(ValueError, match=r"in_memory_bytes must be an integer >= 0; received "
                                         r"in_memory_bytes=-1"):
        detection_dataset_from_records(records, in_memory_bytes=-1)
