import os

import numpy as np
import pytest
import tensorflow_datasets as tfds

from kerasnotes.data.images.fashion_mnist import FASHION_MNIST_CLASS_NAMES, load_fashion_mnist_tfds


def test_class_names_match_tfds_metadata(tmp_path):
    # The builder's metadata ships with tensorflow_datasets: no data or network needed.
    builder = tfds.builder("fashion_mnist", data_dir=str(tmp_path))
    assert tuple(builder.info.features["label"].names) == FASHION_MNIST_CLASS_NAMES


def test_loads_numpy_arrays_from_tfds(tmp_path):
    # mock_data replaces the prepared files with random examples of the real feature spec.
    with tfds.testing.mock_data(num_examples=7):
        (x_train, y_train), (x_test, y_test) = load_fashion_mnist_tfds(data_dir=tmp_path)
    for images, labels in ((x_train, y_train), (x_test, y_test)):
        assert isinstance(images, np.ndarray) and isinstance(labels, np.ndarray)
        assert images.shape == (7, 28, 28, 1) and images.dtype == np.uint8
        assert labels.shape == (7,) and labels.dtype == np.int64
        assert labels.min() >= 0 and labels.max() < 10


def test_loads_more_than_one_copy_batch(tmp_path, monkeypatch):
    from kerasnotes.data.images import fashion_mnist

    monkeypatch.setattr(fashion_mnist, "_COPY_BATCH_SIZE", 4)
    with tfds.testing.mock_data(num_examples=10):
        (x_train, y_train), _ = load_fashion_mnist_tfds(data_dir=tmp_path)
        expected = [
            (image, label)
            for image, label in tfds.load(
                "fashion_mnist", split="train", as_supervised=True, data_dir=str(tmp_path)
            ).as_numpy_iterator()
        ]
    assert x_train.shape == (10, 28, 28, 1)
    np.testing.assert_array_equal(x_train, np.stack([image for image, _ in expected]))
    np.testing.assert_array_equal(y_train, [label for _, label in expected])


@pytest.mark.timeout(60)
def test_missing_data_gives_clear_error_without_network(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_fashion_mnist_tfds(data_dir=tmp_path, download=False)
    message = str(info.value)
    assert str(tmp_path) in message
    assert f"tfds build fashion_mnist --data_dir {tmp_path}" in message
    assert "idx:DIR" in message
    # Nothing was downloaded or prepared.
    assert not any(name.endswith((".tfrecord", ".gz")) for _, _, names in os.walk(tmp_path)
                   for name in names)


@pytest.mark.timeout(60)
def test_missing_data_in_default_dir_names_it():
    default = tfds.core.constants.DATA_DIR
    if os.path.isdir(os.path.join(default, "fashion_mnist")):
        pytest.skip(f"Fashion-MNIST is prepared in the default TFDS directory {default}")
    with pytest.raises(FileNotFoundError) as info:
        load_fashion_mnist_tfds()
    assert f"--data_dir {default}" in str(info.value)
