"""Regression tables: the reader (separators, header, errors), the synthetic table, z-scores."""

import numpy as np
import pytest

from kerasnotes.data.tabular.regression_table import (
    load_regression_data,
    read_regression_csv,
    standardize,
    synthetic_regression,
)


def test_read_regression_csv(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("# a comment\na b y\n1 2 3\n4\t5\t6\n")
    x, y = read_regression_csv(str(path))
    np.testing.assert_array_equal(x, [[1, 2], [4, 5]])
    np.testing.assert_array_equal(y, [3, 6])
    assert x.dtype == y.dtype == np.float32
    path.write_text("frequency, angle,sound\n800,0.5,126.2\n1000,1.5e0,125.2\n")
    x, y = read_regression_csv(str(path))
    np.testing.assert_array_equal(x, np.array([[800, 0.5], [1000, 1.5]], "float32"))
    np.testing.assert_array_equal(y, np.array([126.2, 125.2], "float32"))


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "is empty"),
        ("# only a comment\n\n", "is empty"),
        ("a,b\n", "header but no data rows"),
        ("1\n2\n", "at least 2 columns"),
        ("1,2\n3,4,5\n", "line 2: 3 values for 2 columns"),
        ("x,y\n1,2\n3,abc\n", "line 3: column 'y' holds 'abc'"),
        ("1,2\n3,nan\n", "line 2: column 'column 2' holds 'nan'"),
        ("1 2\n3 inf\n", "line 2: column 'column 2' holds 'inf'"),
    ],
)
def test_bad_tables_give_clear_errors(tmp_path, text, message):
    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_regression_csv(str(path))


def test_binary_and_missing_files(tmp_path):
    path = tmp_path / "blob.dat"
    path.write_bytes(np.random.default_rng(1).bytes(1000))
    with pytest.raises(ValueError, match=r"blob.dat, line \d+: not a text file"):
        read_regression_csv(path)
    with pytest.raises(FileNotFoundError, match="no such file: .*missing.csv"):
        read_regression_csv(tmp_path / "missing.csv")


def test_synthetic_regression_and_standardize():
    x, y = synthetic_regression(num_rows=200, seed=3)
    again, _ = synthetic_regression(num_rows=200, seed=3)
    assert x.shape == (200, 5) and y.shape == (200,) and x.dtype == np.float32
    np.testing.assert_array_equal(x, again)
    assert not np.array_equal(x, synthetic_regression(num_rows=200, seed=4)[0])
    z = standardize(x)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(z.std(axis=0), 1, atol=1e-5)
    constant = standardize(np.array([[2.0, 1.0], [2.0, 3.0]]))
    np.testing.assert_array_equal(constant, [[0, -1], [0, 1]])  # a constant column: centered


def test_load_regression_data_standardizes_the_first_rows(tmp_path):
    x, y, description = load_regression_data(num_rows=300, seed=1)
    assert x.shape == (300, 5) and y.shape == (300, 1) and x.dtype == y.dtype == np.float32
    np.testing.assert_allclose(x, standardize(synthetic_regression(seed=1)[0][:300]))
    np.testing.assert_allclose([y.mean(), y.std()], [0, 1], atol=1e-5)
    assert description.startswith("synthetic regression")
    assert description.endswith("300 rows, 5 features")
    (tmp_path / "t.dat").write_text("1\t2\t3\n4\t6\t5\n7\t8\t9\n")
    x, y, description = load_regression_data(tmp_path / "t.dat")
    np.testing.assert_allclose(y.ravel(), standardize(np.array([3.0, 5.0, 9.0])), rtol=1e-6)
    assert description == f"regression table {tmp_path / 't.dat'}: 3 rows, 2 features"
    with pytest.raises(ValueError, match="t.dat: need at least 2 rows; found 1"):
        load_regression_data(tmp_path / "t.dat", num_rows=1)
