"""K-fold splits: disjoint folds covering every row, deterministic, checked arguments."""

import numpy as np
import pytest

from kerasnotes.data.tabular.k_fold import k_fold_indices, k_fold_splits


def test_folds_partition_the_rows():
    folds = k_fold_indices(23, 5, seed=1)
    assert len(folds) == 5 and sorted(len(f) for f in folds) == [4, 4, 5, 5, 5]
    np.testing.assert_array_equal(np.sort(np.concatenate(folds)), np.arange(23))
    again = k_fold_indices(23, 5, seed=1)
    assert all(np.array_equal(a, b) for a, b in zip(folds, again, strict=True))
    assert not all(np.array_equal(a, b)
                   for a, b in zip(folds, k_fold_indices(23, 5, seed=2), strict=True))


def test_splits_train_on_the_other_folds():
    for (train, valid), fold in zip(k_fold_splits(23, 5, seed=1), k_fold_indices(23, 5, seed=1),
                                    strict=True):
        np.testing.assert_array_equal(valid, fold)
        assert not set(train) & set(valid)
        np.testing.assert_array_equal(np.sort(np.concatenate([train, valid])), np.arange(23))


@pytest.mark.parametrize("num_rows, k, message", [(10, 1, "k must be an integer >= 2"),
                                                  (3, 4, "num_rows must be an integer >= 4"),
                                                  (10, 2.0, "k must be")])
def test_bad_arguments(num_rows, k, message):
    with pytest.raises(ValueError, match=message):
        k_fold_indices(num_rows, k)
