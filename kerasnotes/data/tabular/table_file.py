"""The rows of a table file: one reader for the house-price CSVs and the regression tables.

A table file is UTF-8 text, one row a line, fields separated by commas (read with the `csv`
module, so quoted fields work) or by runs of spaces/tabs (e.g. the UCI airfoil `.dat`
table). Blank lines (and, if asked, comment lines) are skipped; every row keeps its line
number so that later errors can name it. A file that is not text (a binary file, a
spreadsheet, UTF-16) is refused with an error naming the file and the line of the first bad
byte, never a traceback.

Example:

>>> read_table_rows("airfoil.dat", "regression table", separator="auto", comment="#")
[(1, ['800', '0', '0.3048', '71.3', '0.00266', '126.201']), ...]
"""

import csv
import io
import os


def read_text(path, what="table"):
    """The text of `path`, decoded as UTF-8 (a leading byte-order mark is dropped).

    Raises:
        FileNotFoundError: no such file (the message names `what` and the path).
        ValueError: the file is not UTF-8 text, or holds a NUL byte (a binary file):
            `"<path>, line <n>: ..."` with the line of the first bad byte.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"{what}: no such file: {path}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise ValueError(f"{path}, line {line}: not a text file (byte 0x{data[error.start]:02x} "
                         f"is not UTF-8); expected a {what} saved as UTF-8 text") from None
    if "\x00" in text:
        line = text[:text.index("\x00")].count("\n") + 1
        raise ValueError(f"{path}, line {line}: not a text file (it holds a NUL byte); "
                         f"expected a {what}")
    return text


def read_table_rows(path, what="table", separator=",", comment=None):
    """`[(line number, fields)]` of the rows of a table file, blank lines left out.

    Args:
        path: the file.
        what: what the file should be, for the error messages (e.g. `"house-price CSV"`).
        separator: `","` (CSV, with quoting), `None` (runs of spaces/tabs), or `"auto"`: a
            comma when the first row's line holds one, else spaces/tabs.
        comment: rows whose first field starts with this text are skipped (`None`: none).

    Returns:
        a list of `(line number from 1, [field text, whitespace stripped])`.

    Raises:
        FileNotFoundError, ValueError: see `read_text`; a malformed CSV line (the `csv`
        module's error) is a `ValueError` naming the line.
    """
    path = os.fspath(path)
    text = read_text(path, what)
    lines = text.split("\n")

    def skipped(fields):
        return not any(fields) or (comment is not None and fields[0].startswith(comment))

    if separator == "auto":
        first = next((line for line in lines if not skipped([line.strip()])), "")
        separator = "," if "," in first else None
    if separator is None:
        records = ((number, line.split()) for number, line in enumerate(lines, start=1))
    else:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
        records = ((reader.line_num, fields) for fields in reader)
    rows = []
    try:
        for number, fields in records:
            fields = [field.strip() for field in fields]
            if not skipped(fields):
                rows.append((number, fields))
    except csv.Error as error:
        raise ValueError(f"{path}, line {reader.line_num}: {error}") from None
    return rows
