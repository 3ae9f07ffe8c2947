import gzip
import re

import numpy as np
import pytest

from kerasnotes.data.images.idx import FASHION_MNIST_IDX_FILES, load_fashion_mnist_idx, read_idx


def idx_bytes(array, magic=None):
    """The IDX encoding of a uint8 array, written by hand from the format description."""
    array = np.asarray(array, dtype=np.uint8)
    if magic is None:
        magic = 0x0800 + array.ndim
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


def write_idx(path, array, compress=False, magic=None):
    data = idx_bytes(array, magic)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def random_uint8(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("shape", [(7,), (5, 28, 28), (3, 4, 6), (0,)])
def test_read_idx_round_trip(tmp_path, compress, shape):
    array = random_uint8(shape)
    path = write_idx(tmp_path / ("a.idx" + (".gz" if compress else "")), array, compress)
    result = read_idx(path)
    assert result.dtype == np.uint8
    assert result.shape == shape
    np.testing.assert_array_equal(result, array)
    result[...] = 0  # a writable copy, not a view of the file buffer


def test_read_idx_known_bytes(tmp_path):
    path = tmp_path / "labels"
    path.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 9, 0, 255]))
    np.testing.assert_array_equal(read_idx(str(path)), [9, 0, 255])
    images = tmp_path / "images"
    images.write_bytes(bytes([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6]))
    np.testing.assert_array_equal(read_idx(images), [[[1, 2, 3], [4, 5, 6]]])


def test_read_idx_detects_gzip_by_content(tmp_path):
    array = random_uint8((4, 2, 2))
    path = write_idx(tmp_path / "no-suffix", array, compress=True)
    np.testing.assert_array_equal(read_idx(path), array)


def _assert_value_error(path, *patterns):
    with pytest.raises(ValueError) as info:
        read_idx(path)
    message = str(info.value)
    assert str(path) in message
    for pattern in patterns:
        assert re.search(pattern, message), message


def test_read_idx_rejects_bad_magic(tmp_path):
    # float32 3-D array (0x0D03): a valid IDX type, but not the uint8 this reader supports.
    path = write_idx(tmp_path / "floats", random_uint8((2, 2, 2)), magic=0x0D03)
    _assert_value_error(path, "0x00000D03", "0x00000801", "0x00000803")
    path = tmp_path / "text"
    path.write_bytes(b"hello, this is not IDX")
    _assert_value_error(path, "magic number", "0x00000801")


def test_read_idx_rejects_short_files(tmp_path):
    path = tmp_path / "tiny"
    path.write_bytes(b"\x00\x00")
    _assert_value_error(path, "too short", "magic")
    path = tmp_path / "header"
    path.write_bytes(bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0]))
    _assert_value_error(path, "header", "16 bytes", "only 10 bytes")


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_rejects_wrong_data_length(tmp_path, compress):
    data = idx_bytes(random_uint8((3, 4, 4)))
    truncated = tmp_path / "truncated"
    truncated.write_bytes(gzip.compress(data[:-1]) if compress else data[:-1])
    _assert_value_error(truncated, r"\(3, 4, 4\)", "needs 64 bytes", "holds 63 bytes")
    trailing = tmp_path / "trailing"
    trailing.write_bytes(gzip.compress(data + b"\x00") if compress else data + b"\x00")
    _assert_value_error(trailing, "needs 64 bytes", "holds 65 bytes")


def test_read_idx_rejects_corrupt_gzip(tmp_path):
    data = gzip.compress(idx_bytes(random_uint8((10, 28, 28))))
    path = tmp_path / "broken.gz"
    path.write_bytes(data[: len(data) // 2])
    _assert_value_error(path, "gzip")


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"^IDX file .*nothing-here not found$"):
        read_idx(tmp_path / "nothing-here")


def write_fashion_mnist(directory, num_train=6, num_test=4, compress=(False, True, True, False),
                        seed=0):
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arrays = {
        "x_train": rng.integers(0, 256, (num_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, (num_train,), dtype=np.uint8),
        "x_test": rng.integers(0, 256, (num_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, (num_test,), dtype=np.uint8),
    }
    for (key, name), gz in zip(FASHION_MNIST_IDX_FILES.items(), compress, strict=True):
        write_idx(directory / (name + (".gz" if gz else "")), arrays[key], compress=gz)
    return arrays


@pytest.mark.parametrize(
    "compress", [(False, False, False, False), (True, True, True, True), (False, True, True, False)]
)
def test_load_fashion_mnist_idx(tmp_path, compress):
    arrays = write_fashion_mnist(tmp_path / "fmnist", compress=compress)
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist_idx(tmp_path / "fmnist")
    assert x_train.shape == (6, 28, 28, 1) and x_train.dtype == np.uint8
    assert x_test.shape == (4, 28, 28, 1) and x_test.dtype == np.uint8
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64
    np.testing.assert_array_equal(x_train[..., 0], arrays["x_train"])
    np.testing.assert_array_equal(y_train, arrays["y_train"])
    np.testing.assert_array_equal(x_test[..., 0], arrays["x_test"])
    np.testing.assert_array_equal(y_test, arrays["y_test"])


def test_load_fashion_mnist_idx_prefers_plain_file(tmp_path):
    arrays = write_fashion_mnist(tmp_path, compress=(False,) * 4)
    name = FASHION_MNIST_IDX_FILES["y_train"]
    write_idx(tmp_path / (name + ".gz"), np.zeros(6, np.uint8), compress=True)
    (_, y_train), _ = load_fashion_mnist_idx(str(tmp_path))
    np.testing.assert_array_equal(y_train, arrays["y_train"])


def _assert_layout_listed(message, directory):
    assert str(directory) in message
    for name in FASHION_MNIST_IDX_FILES.values():
        assert name in message
    assert ".gz" in message


def test_missing_directory(tmp_path):
    missing = tmp_path / "no-such-dir"
    with pytest.raises(FileNotFoundError) as info:
        load_fashion_mnist_idx(missing)
    _assert_layout_listed(str(info.value), missing)
    assert "does not exist" in str(info.value) and "\n" not in str(info.value)


def test_missing_files(tmp_path):
    write_fashion_mnist(tmp_path)
    removed = FASHION_MNIST_IDX_FILES["x_test"]
    (tmp_path / (removed + ".gz")).unlink()
    with pytest.raises(FileNotFoundError) as info:
        load_fashion_mnist_idx(tmp_path)
    message = str(info.value)
    _assert_layout_listed(message, tmp_path)
    assert f"(lacks {removed}[.gz])" in message
    # One line, starting with the missing file's path (issue 13: it was a 6-line message).
    assert "\n" not in message
    assert message.startswith(f"Fashion-MNIST IDX file {tmp_path / removed}[.gz] not found")

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError) as info:
        load_fashion_mnist_idx(empty)
    assert all(f"{name}[.gz]," in str(info.value) or f"{name}[.gz])" in str(info.value)
               for name in FASHION_MNIST_IDX_FILES.values())


def test_count_mismatch(tmp_path):
    write_fashion_mnist(tmp_path, compress=(False,) * 4)
    write_idx(tmp_path / FASHION_MNIST_IDX_FILES["y_test"], np.zeros(3, np.uint8))
    with pytest.raises(ValueError, match="4 images but .* 3 labels"):
        load_fashion_mnist_idx(tmp_path)


def test_swapped_files(tmp_path):
    arrays = write_fashion_mnist(tmp_path, compress=(False,) * 4)
    write_idx(tmp_path / FASHION_MNIST_IDX_FILES["x_train"], arrays["y_train"])
    with pytest.raises(ValueError, match="expected images as a uint8 3-D array"):
        load_fashion_mnist_idx(tmp_path)
    write_idx(tmp_path / FASHION_MNIST_IDX_FILES["x_train"], arrays["x_train"])
    write_idx(tmp_path / FASHION_MNIST_IDX_FILES["y_train"], arrays["x_train"])
    with pytest.raises(ValueError, match="expected labels as a uint8 vector"):
        load_fashion_mnist_idx(tmp_path)


def test_label_out_of_range(tmp_path):
    write_fashion_mnist(tmp_path, compress=(False,) * 4)
    write_idx(tmp_path / FASHION_MNIST_IDX_FILES["y_train"], np.array([0, 1, 2, 3, 4, 10]))
    with pytest.raises(ValueError, match=r"label 10 is outside \[0, 10\)"):
        load_fashion_mnist_idx(tmp_path)


def test_classify_with_a_missing_idx_file_prints_one_error_line(tmp_path):
    from tests.apps import app_runner

    write_fashion_mnist(tmp_path / "fmnist", compress=(False,) * 4)
    (tmp_path / "fmnist" / FASHION_MNIST_IDX_FILES["y_test"]).unlink()
    result = app_runner.run_app("classify", ["--data", f"idx:{tmp_path / 'fmnist'}",
                                             "--logdir", str(tmp_path / "run")], tmp_path,
                                timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines()
              if line.startswith("python -m apps.classify: error:")]
    missing = tmp_path / "fmnist" / FASHION_MNIST_IDX_FILES["y_test"]
    assert len(errors) == 1 and f"{missing}[.gz] not found" in errors[0], result.stderr
    assert "Traceback" not in result.stderr
