"""Image folders (train/<class>/*, test/<class>/*) and the synthetic fine-tuning datasets."""

import os

import numpy as np
import pytest

from kerasnotes.data.images.image_folder import load_image_folder, write_image_folder
from kerasnotes.data.images.synthetic_finetune_data import (
    SOURCE_CLASS_NAMES,
    TARGET_CLASS_NAMES,
    load_finetune_target,
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


def test_finetune_target_is_the_synthetic_shapes_or_a_folder(tmp_path):
    synthetic = load_finetune_target("synthetic", train_per_class=3, seed=1)
    np.testing.assert_array_equal(synthetic.x_train,
                                  load_synthetic_target(train_per_class=3, seed=1).x_train)
    write_image_folder(str(tmp_path / "photos"), load_synthetic_target(2, 1))
    folder = load_finetune_target(str(tmp_path / "photos"), image_size=20)
    assert folder.x_train.shape == (8, 20, 20, 3) and folder.num_classes == 4
    with pytest.raises(ValueError, match="image_size"):
        load_finetune_target(str(tmp_path / "photos"))


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
    with pytest.raises(ValueError, match=r"bad/train/a/x.jpg is not a readable image"):
        load_image_folder(str(tmp_path / "bad"), (8, 8))


def write_tiny_folder(directory, image_format="jpeg"):
    """2 classes x 2 images per split, encoded as JPEG or PNG; returns the file paths."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    encode = tf.io.encode_jpeg if image_format == "jpeg" else tf.io.encode_png
    paths = []
    for split in ("train", "test"):
        for name in ("cat", "dog"):
            folder = directory / split / name
            folder.mkdir(parents=True)
            for i in range(2):
                path = folder / f"{i}.{'jpg' if image_format == 'jpeg' else 'png'}"
                image = rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)
                path.write_bytes(encode(image).numpy())
                paths.append(path)
    return paths


@pytest.mark.parametrize("image_format", ["jpeg", "png"])
def test_truncated_image_is_named_when_the_folder_is_opened(tmp_path, image_format):
    paths = write_tiny_folder(tmp_path / "data", image_format)
    loaded = load_image_folder(str(tmp_path / "data"), (8, 8))
    assert loaded.x_train.shape == (4, 8, 8, 3) and list(loaded.y_train) == [0, 0, 1, 1]
    truncated = paths[6]  # test/dog/0
    data = truncated.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    paths[7].write_bytes(paths[7].read_bytes()[:40])  # a later bad file is not the one named
    with pytest.raises(ValueError) as info:
        load_image_folder(str(tmp_path / "data"), (8, 8))
    message = str(info.value)
    assert message.startswith(f"{truncated} is not a readable image (")
    assert "\n" not in message and "Op:" not in message and "{{" not in message


def test_image_folder_resizes_like_keras(tmp_path):
    import keras

    write_tiny_folder(tmp_path / "data", "png")
    loaded = load_image_folder(str(tmp_path / "data"), (7, 9))
    expected = keras.utils.image_dataset_from_directory(
        str(tmp_path / "data" / "train"), image_size=(7, 9), shuffle=False, verbose=False)
    x, y = next(iter(expected))
    np.testing.assert_array_equal(loaded.x_train, np.clip(np.round(x.numpy()), 0, 255))
    np.testing.assert_array_equal(loaded.y_train, y.numpy())


def test_a_class_folder_whose_name_is_not_utf8_is_refused_when_loading(tmp_path):
    data = load_synthetic_target(train_per_class=2, test_per_class=1)
    root = tmp_path / "target"
    write_image_folder(str(root), data)
    for split in ("train", "test"):
        folder = os.fsencode(root / split / sorted(os.listdir(root / split))[0])
        os.rename(folder, os.fsencode(root / split) + b"/caf\xe9")
    with pytest.raises(ValueError, match=r"train/caf\\xe9: the class folder name is not "
                                         r"printable UTF-8 text"):
        load_image_folder(str(root), image_size=(28, 28))
