"""read_table_rows / read_text: separators, comments, line numbers, binary files refused."""

import numpy as np
import pytest

from kerasnotes.data.tabular.table_file import read_table_rows, read_text


def test_csv_rows_keep_their_line_numbers_and_quoting(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('\ufeffId,Name\n\n1,"a, b"\n2,"two\nlines"\n3 , c \n', encoding="utf-8")
    rows = read_table_rows(path, "CSV")
    # The byte-order mark is dropped, the blank line skipped, fields stripped; a quoted
    # field may hold commas and newlines (its row ends on line 5).
    assert rows == [(1, ["Id", "Name"]), (3, ["1", "a, b"]), (5, ["2", "two\nlines"]),
                    (6, ["3", "c"])]


def test_whitespace_and_auto_separators_and_comments(tmp_path):
    path = tmp_path / "t.dat"
    path.write_text("# header comment, with a comma\n800\t0  0.3\n\n1000 1.5\t0.2\n")
    expected = [(2, ["800", "0", "0.3"]), (4, ["1000", "1.5", "0.2"])]
    assert read_table_rows(path, separator=None, comment="#") == expected
    assert read_table_rows(path, separator="auto", comment="#") == expected
    path.write_text("# x\na, b\n1,2\n")
    assert read_table_rows(path, separator="auto", comment="#") == [(2, ["a", "b"]),
                                                                   (3, ["1", "2"])]


@pytest.mark.parametrize(
    "data, message",
    [
        (b"Id,Price\n1,2\n3,\xff\xfe\n", r"t.csv, line 3: not a text file \(byte 0xff"),
        (b"Id,Price\n1,2\x00\n", r"t.csv, line 2: not a text file \(it holds a NUL byte\)"),
        ("Id,Price\n".encode("utf-16"), r"t.csv, line 1: not a text file"),
        (np.random.default_rng(0).bytes(4096), r"t.csv, line \d+: not a text file"),
    ],
)
def test_binary_files_are_refused_naming_file_and_line(tmp_path, data, message):
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=message):
        read_text(path, "house-price CSV")
    with pytest.raises(ValueError, match=message):
        read_table_rows(path, "house-price CSV")


def test_missing_file_names_what_and_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="regression table: no such file: .*nothere"):
        read_table_rows(tmp_path / "nothere.dat", "regression table")
