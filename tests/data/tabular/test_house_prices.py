"""House-price CSV reading, type inference, the synthetic table and the clear errors."""

import csv
import math

import numpy as np
import pytest

from kerasnotes.data.tabular.house_prices import (
    read_house_prices_csv,
    synthetic_house_prices,
    write_house_prices_csv,
    write_predictions_csv,
)

KAGGLE_LIKE = """Id,MSSubClass,MSZoning,LotFrontage,LotArea,Alley,1stFlrSF,SalePrice
1,60,RL,65,8450,NA,856,208500
2,20,RL,80,9600,NA,1262,181500
3,60,RL,NA,11250,Grvl,920,223500

4,70,C (all),60,9550,NA,961,140000
"""


def write(tmp_path, text, name="train.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_reads_kaggle_format_and_infers_types(tmp_path):
    table = read_house_prices_csv(write(tmp_path, KAGGLE_LIKE))
    assert table.numeric_columns == ("MSSubClass", "LotFrontage", "LotArea", "1stFlrSF")
    assert table.categorical_columns == ("MSZoning", "Alley")
    assert list(table.features) == ["MSSubClass", "MSZoning", "LotFrontage", "LotArea",
                                    "Alley", "1stFlrSF"]  # file order, no Id, no target
    assert list(table.ids) == ["1", "2", "3", "4"]  # the blank line is skipped
    np.testing.assert_array_equal(table.targets, [208500, 181500, 223500, 140000])
    lot_frontage = table.features["LotFrontage"]
    assert lot_frontage.dtype == np.float32 and math.isnan(lot_frontage[2])
    np.testing.assert_array_equal(lot_frontage[[0, 1, 3]], [65, 80, 60])
    assert list(table.features["MSZoning"]) == ["RL", "RL", "RL", "C (all)"]
    assert list(table.features["Alley"]) == ["NA", "NA", "Grvl", "NA"]  # "NA" is a category
    # Forcing a numeric code column to be categorical.
    forced = read_house_prices_csv(write(tmp_path, KAGGLE_LIKE), categorical_columns=["MSSubClass"])
    assert "MSSubClass" in forced.categorical_columns
    assert list(forced.features["MSSubClass"]) == ["60", "20", "60", "70"]


def test_test_file_follows_the_training_schema(tmp_path):
    train = read_house_prices_csv(write(tmp_path, KAGGLE_LIKE))
    test_text = "Id,MSSubClass,MSZoning,LotFrontage,LotArea,Alley,1stFlrSF,Extra\n" \
                "5,50,RM,,7000,Pave,700,ignored\n"
    test = read_house_prices_csv(write(tmp_path, test_text, "test.csv"), require_target=False,
                                 schema=train)
    assert test.targets is None and list(test.ids) == ["5"]
    assert list(test.features) == list(train.features)
    assert math.isnan(test.features["LotFrontage"][0])
    bad = test_text.replace("7000", "big")
    with pytest.raises(ValueError, match=r"line 2: column 'LotArea' is numeric but holds 'big'"):
        read_house_prices_csv(write(tmp_path, bad, "bad.csv"), require_target=False,
                              schema=train)
    missing = "Id,MSZoning\n5,RM\n"
    with pytest.raises(ValueError, match="missing feature columns.*MSSubClass"):
        read_house_prices_csv(write(tmp_path, missing, "m.csv"), require_target=False,
                              schema=train)


def test_synthetic_table_is_deterministic_and_csv_round_trips(tmp_path):
    train, test = synthetic_house_prices(num_train=300, num_test=50, seed=4)
    again, _ = synthetic_house_prices(num_train=300, num_test=50, seed=4)
    other, _ = synthetic_house_prices(num_train=300, num_test=50, seed=5)
    for name in train.features:
        np.testing.assert_array_equal(train.features[name], again.features[name])
    np.testing.assert_array_equal(train.targets, again.targets)
    assert not np.array_equal(train.targets, other.targets)
    assert train.num_rows == 300 and test.num_rows == 50 and test.targets is None
    assert list(test.ids[:2]) == ["301", "302"]  # ids continue, as in Kaggle's test.csv
    assert "1stFlrSF" in train.numeric_columns and "Neighborhood" in train.categorical_columns
    assert np.all(train.targets > 0) and np.all(train.targets % 100 == 0)
    missing = np.isnan(train.features["LotFrontage"]).mean()
    assert 0.1 < missing < 0.26  # 18% missing by construction
    # Prices follow the features: better quality, higher median price.
    quality = train.features["OverallQual"]
    assert np.median(train.targets[quality >= 7]) > np.median(train.targets[quality <= 5])

    path = tmp_path / "synthetic.csv"
    write_house_prices_csv(path, train)
    read = read_house_prices_csv(path)
    assert read.numeric_columns == train.numeric_columns
    assert read.categorical_columns == train.categorical_columns
    for name in train.features:
        np.testing.assert_array_equal(read.features[name], train.features[name])
    np.testing.assert_array_equal(read.ids, train.ids)
    np.testing.assert_array_equal(read.targets, train.targets)
    fold = train.take([0, 2])
    assert fold.num_rows == 2 and fold.targets[1] == train.targets[2]


def test_predictions_csv(tmp_path):
    path = tmp_path / "predictions.csv"
    write_predictions_csv(path, ["1461", "1462"], np.array([[169000.5], [187723.0]]))
    write_predictions_csv(tmp_path / "big.csv", ["1"], [12345678.9])
    assert (tmp_path / "big.csv").read_text().splitlines()[1] == "1,12345678.9"
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows == [["Id", "SalePrice"], ["1461", "169000.5"], ["1462", "187723"]]
    with pytest.raises(ValueError, match="2 ids for 3 predictions"):
        write_predictions_csv(path, ["1", "2"], [1.0, 2.0, 3.0])


@pytest.mark.parametrize(
    "text, kwargs, message",
    [
        ("", {}, "is empty"),
        ("\n\n", {}, "is empty"),
        ("Id,LotArea,SalePrice\n", {}, "header but no data rows"),
        ("Id,LotArea\n1,8450\n", {}, r"no target column 'SalePrice' \(columns: Id, LotArea\)"),
        ("Id,LotArea,Price\n1,8450,10\n", {"target_column": "SalePrice"}, "'SalePrice'"),
        ("Id,LotArea,SalePrice\n1,8450,1\n2,9600,2\n3,abc,3\n4,9000,4\n", {},
         r"line 4: column 'LotArea' holds numbers in 3 of 4 rows but 'abc' here"),
        ("Id,LotArea,SalePrice\n1,8450,100\n2,9600,cheap\n", {},
         r"line 3: column 'SalePrice' is numeric but holds 'cheap'"),
        ("Id,LotArea,SalePrice\n1,8450,100\n2,9600,NA\n", {}, "line 3: the target"),
        ("Id,LotArea,SalePrice\n1,8450,0\n", {}, "must be > 0"),
        ("Id,LotArea,SalePrice\n1,8450\n", {}, "line 2: 2 values for 3 columns"),
        ("Id,LotArea,LotArea,SalePrice\n1,1,2,3\n", {}, "duplicate column names"),
        ("Id,SalePrice\n1,3\n", {}, "no feature columns"),
        ("Id,LotArea,SalePrice\n1,8450,3\n", {"categorical_columns": ["Street"]},
         "not in the file"),
    ],
)
def test_bad_files_give_clear_errors(tmp_path, text, kwargs, message):
    with pytest.raises(ValueError, match=message):
        read_house_prices_csv(write(tmp_path, text), **kwargs)


def test_missing_file_and_bad_synthetic_sizes(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.csv"):
        read_house_prices_csv(tmp_path / "nothere.csv")
    with pytest.raises(ValueError, match="num_train"):
        synthetic_house_prices(num_train=0)
    with pytest.raises(ValueError, match="seed"):
        synthetic_house_prices(seed=-1)


def test_binary_file_is_one_error_naming_file_and_line(tmp_path):
    path = tmp_path / "train.csv"
    path.write_bytes(b"Id,LotArea,SalePrice\n1,8450,208500\n\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(ValueError, match=r"train.csv, line 3: not a text file \(byte 0x89"):
        read_house_prices_csv(path)
