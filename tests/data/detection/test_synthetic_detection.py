import json
import os
import re

import numpy as np
import pytest

from kerasnotes.data.detection import synthetic_detection
from kerasnotes.data.detection.banana_detection import (
    load_banana_detection,
    read_banana_labels,
    read_class_names,
)
from kerasnotes.data.detection.synthetic_detection import (
    SYNTHETIC_DETECTION_CLASS_NAMES,
    ensure_synthetic_detection_dataset,
    write_synthetic_detection_dataset,
)
from tests.folder_snapshot import file_contents

SMALL = dict(num_train=6, num_val=3, image_size=64, seed=1, max_objects=3)


@pytest.fixture(scope="module")
def small_root(tmp_path_factory):
    return write_synthetic_detection_dataset(tmp_path_factory.mktemp("shapes") / "data",
                                             **SMALL)


def test_layout_on_disk(small_root):
    assert sorted(os.listdir(small_root)) == ["classes.txt", "manifest.json", "train", "val"]
    assert not any(name.startswith("bananas_") for name in os.listdir(small_root))
    for split, count in (("train", 6), ("val", 3)):
        names = sorted(os.listdir(os.path.join(small_root, split, "images")))
        assert names == sorted(f"{i}.jpg" for i in range(count))
        with open(os.path.join(small_root, split, "label.csv")) as file:
            lines = file.read().splitlines()
        assert lines[0] == "img_name,label,xmin,ymin,xmax,ymax"
        # Every image appears, and the rows are integer pixels (d2l's style).
        assert {line.split(",")[0] for line in lines[1:]} == set(names)
        for line in lines[1:]:
            assert all(cell.lstrip("-").isdigit() for cell in line.split(",")[1:])
    assert read_class_names(os.path.join(small_root, "val")) == (
        SYNTHETIC_DETECTION_CLASS_NAMES)
    with open(os.path.join(small_root, "manifest.json")) as file:
        manifest = json.load(file)
    assert manifest == {"generator": "kerasnotes.data.detection.synthetic_detection",
                        "version": synthetic_detection.GENERATOR_VERSION, **SMALL}


def test_read_by_the_banana_loader(small_root):
    elements = list(load_banana_detection(os.path.join(small_root, "train"),
                                          max_objects=3))
    assert len(elements) == 6
    for image, labels in elements:
        assert image.shape == (64, 64, 3) and image.dtype == "uint8"
        labels = labels.numpy()
        valid = labels[labels[:, 0] >= 0]
        padding = np.tile(np.float32([-1, 0, 0, 0, 0]), (3 - len(valid), 1))
        np.testing.assert_array_equal(labels[len(valid):], padding)
        assert set(valid[:, 0]) <= {0, 1, 2, 3}
        assert np.all((valid[:, 1:] >= 0) & (valid[:, 1:] <= 1))
        sides = np.concatenate([valid[:, 3] - valid[:, 1], valid[:, 4] - valid[:, 2]])
        # sqrt(area) >= 0.15 and aspect <= 1.6: every side >= 0.15 / sqrt(1.6) (rounded).
        assert np.all((sides >= np.floor(0.15 / np.sqrt(1.6) * 64) / 64) & (sides <= 0.5))


def test_image_statistics_and_exact_boxes():
    counts, classes = [], []
    for index in range(150):
        image, objects = synthetic_detection._draw_image(0, 0, index, 64, 3)
        assert image.shape == (64, 64, 3) and image.dtype == np.uint8
        counts.append(len(objects))
        for i, (label, xmin, ymin, xmax, ymax) in enumerate(objects):
            classes.append(label)
            assert 0 <= xmin < xmax <= 64 and 0 <= ymin < ymax <= 64
            for other in objects[i + 1:]:  # objects do not overlap
                assert xmin >= other[3] or other[1] >= xmax or ymin >= other[4] or (
                    other[2] >= ymax)
    counts = np.bincount(counts, minlength=4)
    assert counts[0] > 0 and counts[1] > 0 and counts[3] > 0 and len(counts) == 4
    assert 0.03 < counts[0] / 150 < 0.25
    assert set(classes) == {0, 1, 2, 3}


@pytest.mark.parametrize("label", [0, 1, 2, 3])
def test_shapes_touch_all_four_box_sides(label):
    rng = np.random.default_rng(label)
    for _ in range(20):
        xmin, ymin = rng.integers(0, 100, 2)
        width, height = rng.integers(8, 60, 2)
        box = (xmin, ymin, xmin + width, ymin + height)
        y, x = np.mgrid[box[1]:box[3], box[0]:box[2]] + 0.5
        mask = synthetic_detection._shape_mask(label, x, y, box, rng)
        assert mask.shape == (height, width)
        assert mask[0].any() and mask[-1].any() and mask[:, 0].any() and mask[:, -1].any()
        assert 0.2 < mask.mean() <= 1.0


def test_deterministic_and_prefix_stable(small_root, tmp_path):
    again = write_synthetic_detection_dataset(tmp_path / "again", **SMALL)
    assert file_contents(again) == file_contents(small_root)
    other = write_synthetic_detection_dataset(tmp_path / "other", **{**SMALL, "seed": 2})
    assert file_contents(other)["train/images/0.jpg"] != (
        file_contents(small_root)["train/images/0.jpg"])
    fewer = write_synthetic_detection_dataset(tmp_path / "fewer", **{**SMALL, "num_train": 2})
    fewer_files, small_files = file_contents(fewer), file_contents(small_root)
    for name in ("0.jpg", "1.jpg"):
        assert fewer_files[f"train/images/{name}"] == (
            small_files[f"train/images/{name}"])
    assert fewer_files["val/label.csv"] == small_files["val/label.csv"]
    # Train and validation images differ.
    assert small_files["train/images/0.jpg"] != small_files["val/images/0.jpg"]


def test_ensure_reuses_a_complete_copy_and_regenerates_otherwise(tmp_path):
    root = str(tmp_path / "data")
    params = dict(num_train=3, num_val=2, image_size=48, seed=0, max_objects=2)
    assert ensure_synthetic_detection_dataset(root, **params) == root
    label = os.path.join(root, "train", "label.csv")
    marker = os.stat(label).st_ino, os.stat(label).st_mtime_ns
    ensure_synthetic_detection_dataset(root, **params)
    assert (os.stat(label).st_ino, os.stat(label).st_mtime_ns) == marker  # reused
    # Different parameters: regenerated, with the new manifest.
    ensure_synthetic_detection_dataset(root, **{**params, "num_val": 1})
    assert len(os.listdir(os.path.join(root, "val", "images"))) == 1
    assert len(read_banana_labels(os.path.join(root, "val"))) == 1
    # A missing image makes the copy incomplete: regenerated.
    os.remove(os.path.join(root, "train", "images", "2.jpg"))
    ensure_synthetic_detection_dataset(root, **{**params, "num_val": 1})
    assert os.path.isfile(os.path.join(root, "train", "images", "2.jpg"))
    # No staging folders are left next to the dataset.
    assert os.listdir(tmp_path) == ["data"]


def test_refuses_to_overwrite_other_data(tmp_path):
    root = tmp_path / "real"
    (root / "train").mkdir(parents=True)
    with pytest.raises(ValueError, match="is not empty and has no manifest.json"):
        ensure_synthetic_detection_dataset(root, num_train=1, num_val=1, image_size=32)
    assert os.listdir(root) == ["train"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="exists and is not a folder"):
        write_synthetic_detection_dataset(tmp_path / "file", num_train=1, num_val=1)


@pytest.mark.parametrize(
    "kwargs, message",
    [({"num_train": -1}, "num_train must be a non-negative integer; received num_train=-1"),
     ({"num_val": 1.5}, "num_val must be a non-negative integer; received num_val=1.5"),
     ({"image_size": 16}, "image_size must be an integer >= 32; received image_size=16"),
     ({"seed": -3}, "seed must be a non-negative integer; received seed=-3"),
     ({"max_objects": True},
      "max_objects must be a non-negative integer; received max_objects=True")],
)
def test_bad_arguments(tmp_path, kwargs, message):
    with pytest.raises(ValueError,
                       match=re.escape(f"write_synthetic_detection_dataset: {message}")):
        write_synthetic_detection_dataset(tmp_path / "x", **kwargs)
    with pytest.raises(ValueError,
                       match=re.escape(f"ensure_synthetic_detection_dataset: {message}")):
        ensure_synthetic_detection_dataset(tmp_path / "x", **kwargs)
    assert not os.path.exists(tmp_path / "x")
