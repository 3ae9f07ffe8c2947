"""Fashion-MNIST through TensorFlow Datasets, as NumPy arrays.

The notes' image-classification dataset: 70,000 28x28 grayscale images of clothing in 10
classes (60,000 for training, 10,000 for testing). `tensorflow_datasets` is imported only
when the loader runs.
"""

import os

import numpy as np

FASHION_MNIST_CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

# Examples per batch when copying a split into NumPy arrays.
_COPY_BATCH_SIZE = 10000


def _split_to_numpy(dataset):
    images, labels = [], []
    for batch_images, batch_labels in dataset.batch(_COPY_BATCH_SIZE).as_numpy_iterator():
        images.append(batch_images)
        labels.append(batch_labels)
    if not images:
        return np.zeros((0, 28, 28, 1), np.uint8), np.zeros((0,), np.int64)
    return (
        np.concatenate(images).astype(np.uint8, copy=False),
        np.concatenate(labels).astype(np.int64, copy=False),
    )


def load_fashion_mnist_tfds(data_dir=None, download=False):
    """Loads Fashion-MNIST with `tensorflow_datasets` into NumPy arrays.

    With `download=False` (the default) nothing touches the network: when the prepared
    dataset is not in `data_dir`, a `FileNotFoundError` says where it was looked for and
    how to prepare it.

    Args:
        data_dir: TFDS data directory (the folder holding `fashion_mnist/<version>/`);
            `None` uses TFDS' default (`$TFDS_DATA_DIR` or `~/tensorflow_datasets`).
        download: let TFDS download and prepare the data when it is missing.

    Returns:
        `((x_train, y_train), (x_test, y_test))`: uint8 images `(N, 28, 28, 1)` and int64
        labels `(N,)` in `[0, 10)`, in TFDS' order. Class names are
        `FASHION_MNIST_CLASS_NAMES`.

    Raises:
        FileNotFoundError: `download=False` and the data is not prepared in `data_dir`.

    Example:

    >>> (x_train, y_train), (x_test, y_test) = load_fashion_mnist_tfds(
    ...     "~/tensorflow_datasets")  # doctest: +SKIP
    >>> x_train.shape  # doctest: +SKIP
    (60000, 28, 28, 1)
    """
    import tensorflow_datasets as tfds

    if data_dir is not None:
        data_dir = os.path.expanduser(os.fspath(data_dir))
    # `batch_size=-1` would give whole splits at once, but it aborts the process under
    # `tfds.testing.mock_data` (unknown split sizes), so splits are copied in batches.
    try:
        train, test = tfds.load(
            "fashion_mnist",
            split=["train", "test"],
            as_supervised=True,
            data_dir=data_dir,
            download=download,
        )
    except AssertionError as error:  # TFDS' "could not find data in ..." check
        if download:
            raise
        where = data_dir if data_dir is not None else tfds.core.constants.DATA_DIR
        raise FileNotFoundError(
            f"Fashion-MNIST is not prepared in the TFDS data directory {where} "
            f"(TFDS said: {error}). Prepare it on a machine with network access with "
            f"`tfds build fashion_mnist --data_dir {where}` and copy that folder here, or "
            "download the four IDX files and use the data source `idx:DIR`."
        ) from None
    return _split_to_numpy(train), _split_to_numpy(test)
