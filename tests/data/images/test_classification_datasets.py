import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from kerasnotes.data.images.classification_datasets import (
    ClassificationData,
    load_classification_data,
    make_classification_dataset,
)
from kerasnotes.data.images.fashion_mnist import FASHION_MNIST_CLASS_NAMES
from kerasnotes.data.images.synthetic_glyphs import (
    SYNTHETIC_GLYPHS_CLASS_NAMES,
    load_synthetic_glyphs,
)
from tests.data.images.test_idx import write_fashion_mnist


def test_synthetic_spec():
    data = load_classification_data("synthetic", num_train=120, num_test=30, seed=2)
    assert isinstance(data, ClassificationData)
    (x_train, y_train), (x_test, y_test) = load_synthetic_glyphs(120, 30, seed=2)
    np.testing.assert_array_equal(data.x_train, x_train)
    np.testing.assert_array_equal(data.y_train, y_train)
    np.testing.assert_array_equal(data.x_test, x_test)
    np.testing.assert_array_equal(data.y_test, y_test)
    assert data.class_names == SYNTHETIC_GLYPHS_CLASS_NAMES
    assert data.num_classes == 10
    assert data.image_shape == (28, 28, 1)
    assert "synthetic" in data.name and "not real data" in data.name


def test_synthetic_default_sizes(monkeypatch):
    from kerasnotes.data.images import classification_datasets

    calls = []

    def spy(num_train, num_test, seed):
        calls.append((num_train, num_test, seed))
        return load_synthetic_glyphs(num_train=3, num_test=2, seed=seed)

    monkeypatch.setattr(classification_datasets, "load_synthetic_glyphs", spy)
    load_classification_data("synthetic")
    load_classification_data("synthetic", num_test=10, seed=4)
    assert calls == [(20000, 4000, 0), (20000, 10, 4)]


def test_idx_spec(tmp_path):
    arrays = write_fashion_mnist(tmp_path / "fm", num_train=6, num_test=4)
    data = load_classification_data(f"idx:{tmp_path / 'fm'}", num_train=5)
    assert data.x_train.shape == (5, 28, 28, 1) and data.x_train.dtype == np.uint8
    np.testing.assert_array_equal(data.x_train[..., 0], arrays["x_train"][:5])
    np.testing.assert_array_equal(data.y_train, arrays["y_train"][:5])
    np.testing.assert_array_equal(data.x_test[..., 0], arrays["x_test"])
    np.testing.assert_array_equal(data.y_test, arrays["y_test"])
    assert data.class_names == FASHION_MNIST_CLASS_NAMES
    assert "Fashion-MNIST" in data.name and str(tmp_path / "fm") in data.name
    # A bare "idx" reads data_dir.
    bare = load_classification_data("idx", data_dir=tmp_path / "fm")
    np.testing.assert_array_equal(bare.y_train, arrays["y_train"])


def test_idx_spec_errors(tmp_path):
    with pytest.raises(ValueError, match="names no directory"):
        load_classification_data("idx:")
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_classification_data(f"idx:{tmp_path / 'missing'}")


def test_fashion_mnist_spec(tmp_path):
    with tfds.testing.mock_data(num_examples=6):
        data = load_classification_data("fashion_mnist", data_dir=tmp_path, num_test=2)
    assert data.x_train.shape == (6, 28, 28, 1) and data.x_train.dtype == np.uint8
    assert data.x_test.shape == (2, 28, 28, 1)
    assert data.class_names == FASHION_MNIST_CLASS_NAMES
    assert str(tmp_path) in data.name
    with pytest.raises(FileNotFoundError, match="tfds build fashion_mnist"):
        load_classification_data("fashion_mnist", data_dir=tmp_path)


@pytest.mark.parametrize("spec", ["mnist", "Synthetic", "", None, "idx_dir"])
def test_unknown_spec(spec):
    with pytest.raises(ValueError) as info:
        load_classification_data(spec)
    message = str(info.value)
    for form in ('"synthetic"', '"fashion_mnist"', '"idx:DIR"'):
        assert form in message


@pytest.mark.parametrize("kwargs", [{"num_train": 0}, {"num_test": -2}, {"num_train": 1.5}])
def test_bad_caps(kwargs):
    (argument,) = kwargs
    with pytest.raises(ValueError, match=argument):
        load_classification_data("synthetic", **kwargs)


def _id_data(n, shape=(3, 2, 1)):
    """Images whose first pixel encodes the example id (mod 256), labels = ids."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, *shape), dtype=np.uint8)
    images[:, 0, 0, 0] = np.arange(n) % 256
    return images, np.arange(n, dtype=np.int64)


def _collect(dataset):
    images, labels = [], []
    for batch_images, batch_labels in dataset:
        images.append(batch_images.numpy())
        labels.append(batch_labels.numpy())
    return np.concatenate(images), np.concatenate(labels)


def test_batches_scaling_and_dtypes():
    images, labels = _id_data(10)
    dataset = make_classification_dataset(images, labels, batch_size=4)
    assert dataset.element_spec[0].dtype == tf.float32
    assert dataset.element_spec[1].dtype == tf.int32
    sizes = [int(batch_labels.shape[0]) for _, batch_labels in dataset]
    assert sizes == [4, 4, 2]
    scaled, ids = _collect(dataset)
    # No shuffle: input order. Scaling is exactly float32(x) / 255.
    np.testing.assert_array_equal(ids, labels)
    np.testing.assert_array_equal(scaled, images.astype(np.float32) / np.float32(255.0))
    assert scaled.min() >= 0.0 and scaled.max() <= 1.0
    dropped = make_classification_dataset(images, labels, batch_size=4, drop_remainder=True)
    assert [int(b.shape[0]) for _, b in dropped] == [4, 4]
    assert dropped.element_spec[0].shape.as_list() == [4, 3, 2, 1]


def test_shuffled_epochs_are_reproducible_permutations():
    images, labels = _id_data(300)
    epoch_orders = []
    for epoch in range(3):
        dataset = make_classification_dataset(images, labels, 32, shuffle_seed=7, epoch=epoch)
        scaled, ids = _collect(dataset)
        # Every example exactly once, still paired with its own image.
        np.testing.assert_array_equal(np.sort(ids), labels)
        np.testing.assert_array_equal(scaled, images[ids].astype(np.float32) / 255.0)
        # The same dataset iterated again, and a rebuilt one, give the same order.
        np.testing.assert_array_equal(_collect(dataset)[1], ids)
        rebuilt = make_classification_dataset(images, labels, 32, shuffle_seed=7, epoch=epoch)
        np.testing.assert_array_equal(_collect(rebuilt)[1], ids)
        epoch_orders.append(ids)
    assert not np.array_equal(epoch_orders[0], labels)
    assert not np.array_equal(epoch_orders[0], epoch_orders[1])
    assert not np.array_equal(epoch_orders[1], epoch_orders[2])
    # The order follows the documented permutation, whatever TensorFlow's global seed.
    tf.random.set_seed(123)
    again = make_classification_dataset(images, labels, 32, shuffle_seed=7, epoch=2)
    np.testing.assert_array_equal(_collect(again)[1], epoch_orders[2])
    np.testing.assert_array_equal(epoch_orders[2], np.random.default_rng(9).permutation(300))
    other_seed = make_classification_dataset(images, labels, 32, shuffle_seed=8, epoch=2)
    assert not np.array_equal(_collect(other_seed)[1], epoch_orders[2])


@pytest.mark.slow  # a TensorFlow import in a subprocess: 4-15 s depending on the load
def test_epoch_order_is_reproduced_in_a_new_process(project_root):
    # (The fast test above already pins the order to default_rng(seed + epoch).)
    images, labels = _id_data(200)
    local = _collect(make_classification_dataset(images, labels, 16, shuffle_seed=3, epoch=4))[1]
    code = (
        "import numpy as np, tensorflow as tf\n"
        "from kerasnotes.data.images.classification_datasets import make_classification_dataset\n"
        "tf.random.set_seed(99)\n"
        "labels = np.arange(200)\n"
        "images = np.zeros((200, 3, 2, 1), np.uint8)\n"
        "ds = make_classification_dataset(images, labels, 16, shuffle_seed=3, epoch=4)\n"
        "print(' '.join(str(int(v)) for _, b in ds for v in b.numpy()))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=project_root, capture_output=True, text=True,
        timeout=120, env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    remote = np.array(result.stdout.split(), dtype=np.int64)
    np.testing.assert_array_equal(remote, local)


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 2.0}, "batch_size"),
        ({"batch_size": 2, "shuffle_seed": -1}, "shuffle_seed"),
        ({"batch_size": 2, "shuffle_seed": 1, "epoch": -1}, "epoch"),
    ],
)
def test_invalid_dataset_arguments(kwargs, pattern):
    images, labels = _id_data(4)
    with pytest.raises(ValueError, match=pattern):
        make_classification_dataset(images, labels, **kwargs)


def test_invalid_dataset_shapes():
    images, labels = _id_data(4)
    with pytest.raises(ValueError, match="images must be"):
        make_classification_dataset(images[..., 0], labels, 2)
    with pytest.raises(ValueError, match="labels must have shape"):
        make_classification_dataset(images, labels[:3], 2)
