"""Image folders (train/<class>/*, test/<class>/*) and the synthetic fine-tuning datasets."""

import os

import numpy as np
import pytest

from kerasnotes.data.images.image_folder import load_image_folder, write_image_folder
from kerasnotes.data.images.synthetic_finetune_data import (
    SOURCE_CLASS_NAMES,
    TARGET_CLASS_NAMES,
    load_synthetic_source,
    load_synthetic_target,
)


def test_synthetic_source_and_target_have_disjoint_classes_and_balanced_labels():
    source = load_synthetic_source(train_per_class=4, test_per_class=2, seed=3)
    target = load_synthetic_target(train_per_class=3, test_per_class=2, seed=3)
    assert source.num_classes == 18 and target.num_classes == 4
    assert not set(SOURCE_CLASS_NAMES) & set(TARGET_CLASS_NAMES)
    assert not {name.split(" ", 1)[1] for name in SOURCE_CLASS_NAMES} & set(TARGET_CLASS_NAMES)
    np.testing.assert_array_equal(np.bincount(source.y_train), [4] * 18)
    np.testing.assert_array_equal(np.bincount(target.y_test), [2] * 4)
    assert source.x_train.shape == (72, 28, 28, 3) and source.x_train.dtype == np.uint8
    # The color of a source class is its name's color: red classes are mostly red.
    red = source.x_train[source.y_train == SOURCE_CLASS_NAMES.index("red disk")]
    assert red[..., 0].mean() > red[..., 1].mean() + 20
    again = load_synthetic_target(train_per_class=3, test_per_class=2, seed=3)
    np.testing.assert_array_equal(again.x_train, target.x_train)


def test_image_folder_round_trip(tmp_path):
    data = load_synthetic_target(train_per_class=3, test_per_class=2)
    write_image_folder(str(tmp_path / "target"), data)
    assert sorted(os.listdir(tmp_path / "target" / "train")) == sorted(TARGET_CLASS_NAMES)
    loaded = load_image_folder(str(tmp_path / "target"), image_size=(28, 28))
    assert loaded.class_names == tuple(sorted(TARGET_CLASS_NAMES))
    assert loaded.x_train.shape == (12, 28, 28, 3) and loaded.x_test.shape == (8, 28, 28, 3)
    # Same images (PNG is lossless), labels renumbered by sorted class name.
    for images, labels, original, original_labels in (
            (loaded.x_train, loaded.y_train, data.x_train, data.y_train),):
        names = np.array(loaded.class_names)[labels]
        for image, name in zip(images, names):
            matches = [np.array_equal(image, o) for o in original[
                np.array(data.class_names)[original_labels] == name]]
            assert any(matches)


def test_image_folder_errors_name_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_image_folder(str(tmp_path / "nowhere"), (8, 8))
    (tmp_path / "one" / "train" / "cats").mkdir(parents=True)
    (tmp_path / "one" / "test" / "cats").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"one/train.*at least two"):
        load_image_folder(str(tmp_path / "one"), (8, 8))
    for split in ("train", "test"):
        for name in ("a", "b"):
            (tmp_path / "empty" / split / name).mkdir(parents=True)
    with pytest.raises(ValueError, match=r"empty/train.*without images"):
        load_image_folder(str(tmp_path / "empty"), (8, 8))
    (tmp_path / "notrain" / "test").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="'train'"):
        load_image_folder(str(tmp_path / "notrain"), (8, 8))
    for split in ("train", "test"):
        for name in ("a", "b"):
            folder = tmp_path / "bad" / split / name
            folder.mkdir(parents=True)
            (folder / "x.jpg").write_text("not an image")
    with pytest.raises(ValueError, match=r"bad/train.*not a readable image"):
        load_image_folder(str(tmp_path / "bad"), (8, 8))
