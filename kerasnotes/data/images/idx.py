"""IDX files (the MNIST / Fashion-MNIST distribution format) read into NumPy arrays.

An IDX file is a big-endian header followed by the raw array:

    bytes 0-1   zero
    byte  2     element type (0x08 = uint8, the only type used by (Fashion-)MNIST)
    byte  3     number of dimensions k
    4 * k bytes each dimension size, a big-endian unsigned 32-bit integer
    the rest    prod(dims) elements, row-major

so the magic number (the first 4 bytes read as one big-endian integer) is 0x00000801 for a
uint8 vector (labels) and 0x00000803 for a uint8 3-D array (images, `(N, rows, cols)`).
Files may be gzip-compressed (the way they are distributed, `*.gz`).
"""

import gzip
import os

import numpy as np

# Magic number -> (number of dimensions, description); both are uint8 arrays.
IDX_MAGIC_NUMBERS = {
    0x00000801: (1, "uint8 vector"),
    0x00000803: (3, "uint8 3-D array"),
}

FASHION_MNIST_IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}

_GZIP_SIGNATURE = b"\x1f\x8b"


def _expected_magic_text():
    return " or ".join(
        f"0x{magic:08X} ({description})" for magic, (_, description) in IDX_MAGIC_NUMBERS.items()
    )


def _read_bytes(path):
    with open(path, "rb") as file:
        data = file.read()
    if data[:2] != _GZIP_SIGNATURE:
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError) as error:  # gzip.BadGzipFile is an OSError
        raise ValueError(
            f"IDX file {path}: it starts like a gzip file but cannot be decompressed "
            f"({error}); expected a complete gzip-compressed or plain IDX file"
        ) from None


def read_idx(path):
    """Reads an IDX file of uint8 values, gzip-compressed (`.gz`) or plain.

    Accepts the magic numbers 0x00000801 (uint8 vector) and 0x00000803 (uint8 3-D array)
    and checks that the file holds exactly `prod(dims)` bytes after the header.
    Compression is recognized from the file's first bytes, whatever its name.

    Args:
        path: path to the file.

    Returns:
        a uint8 NumPy array of shape `dims` (`(N,)` or `(N, rows, cols)`).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not a valid IDX file of that kind (bad magic number,
            truncated header, data shorter or longer than the dimensions say, corrupt gzip);
            the message names the file and what was expected.

    Example:

    >>> labels = read_idx("data/fashion_mnist/t10k-labels-idx1-ubyte.gz")  # doctest: +SKIP
    >>> labels.shape, labels.dtype  # doctest: +SKIP
    ((10000,), dtype('uint8'))
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"IDX file {path} not found")
    data = _read_bytes(path)
    if len(data) < 4:
        raise ValueError(
            f"IDX file {path}: {len(data)} bytes is too short for the 4-byte magic number; "
            f"expected {_expected_magic_text()}"
        )
    magic = int.from_bytes(data[:4], "big")
    if magic not in IDX_MAGIC_NUMBERS:
        raise ValueError(
            f"IDX file {path}: magic number 0x{magic:08X} is not supported; expected "
            f"{_expected_magic_text()}"
        )
    ndim, description = IDX_MAGIC_NUMBERS[magic]
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise ValueError(
            f"IDX file {path}: the header of a {description} needs {header_size} bytes "
            f"(magic number and {ndim} dimension sizes); the file holds only {len(data)} bytes"
        )
    dims = tuple(
        int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)
    )
    expected = header_size + int(np.prod(dims, dtype=np.int64))
    if len(data) != expected:
        raise ValueError(
            f"IDX file {path}: a {description} of shape {dims} needs {expected} bytes "
            f"({header_size} header + {expected - header_size} data); the file holds "
            f"{len(data)} bytes (truncated or trailing data)"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(dims).copy()


def _layout_text(directory):
    """The expected layout, in one line (error messages are one line)."""
    return (f"expected the four Fashion-MNIST IDX files in {directory}: "
            f"{', '.join(FASHION_MNIST_IDX_FILES.values())}, each plain or gzip-compressed "
            "(.gz) (from https://github.com/zalandoresearch/fashion-mnist)")


def _find_file(directory, name):
    for candidate in (name, name + ".gz"):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    return None


def load_fashion_mnist_idx(directory):
    """Loads Fashion-MNIST from the four standard IDX files in `directory`.

    Looks for `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
    `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte`, each with or without `.gz`
    (the plain file wins when both exist).

    Args:
        directory: the folder holding the files.

    Returns:
        `((x_train, y_train), (x_test, y_test))`: uint8 images `(N, rows, cols, 1)`
        (`(N, 28, 28, 1)` for Fashion-MNIST) and int64 labels `(N,)` in `[0, 10)`.

    Raises:
        FileNotFoundError: the directory or any of the four files is missing (a one-line
            message naming the first missing file, the others and the expected layout).
        ValueError: a file is not a valid IDX file, images are not a 3-D array or labels
            not a vector, image and label counts differ, or a label is outside `[0, 10)`.

    Example:

    >>> (x_train, y_train), (x_test, y_test) = load_fashion_mnist_idx(
    ...     "data/fashion_mnist")  # doctest: +SKIP
    >>> x_train.shape, y_train.shape  # doctest: +SKIP
    ((60000, 28, 28, 1), (60000,))
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"Fashion-MNIST IDX directory {directory} does not exist or is not a directory; "
            + _layout_text(directory)
        )
    paths = {key: _find_file(directory, name) for key, name in FASHION_MNIST_IDX_FILES.items()}
    missing = [FASHION_MNIST_IDX_FILES[key] for key, path in paths.items() if path is None]
    if missing:
        raise FileNotFoundError(
            f"Fashion-MNIST IDX file {os.path.join(directory, missing[0])}[.gz] not found "
            f"(lacks {', '.join(name + '[.gz]' for name in missing)}); "
            + _layout_text(directory)
        )

    splits = []
    for images_key, labels_key in (("x_train", "y_train"), ("x_test", "y_test")):
        images = read_idx(paths[images_key])
        labels = read_idx(paths[labels_key])
        if images.ndim != 3:
            raise ValueError(
                f"IDX file {paths[images_key]}: expected images as a uint8 3-D array "
                f"(magic 0x00000803, shape (N, rows, cols)); found shape {images.shape}"
            )
        if labels.ndim != 1:
            raise ValueError(
                f"IDX file {paths[labels_key]}: expected labels as a uint8 vector "
                f"(magic 0x00000801, shape (N,)); found shape {labels.shape}"
            )
        if len(images) != len(labels):
            raise ValueError(
                f"Fashion-MNIST IDX directory {directory}: {paths[images_key]} holds "
                f"{len(images)} images but {paths[labels_key]} holds {len(labels)} labels; "
                "expected the same count"
            )
        if labels.size and labels.max() >= 10:
            raise ValueError(
                f"IDX file {paths[labels_key]}: label {int(labels.max())} is outside [0, 10); "
                "Fashion-MNIST has 10 classes"
            )
        splits.append((images[..., None], labels.astype(np.int64)))
    return tuple(splits)
