"""K-fold cross-validation splits of a table's rows.

K-fold cross-validation (d2l's Kaggle house prices, the model-selection section) cuts the
`N` training rows into `K` disjoint folds of `N/K` rows (sizes differ by at most one);
model `k` trains on the other `K - 1` folds and is validated on fold `k`, and the mean
of the `K` validation errors estimates the error on new rows. The rows are shuffled once
with `numpy.random.default_rng([seed, 7])`, so the folds depend only on `(N, K, seed)` and a
resumed run gets the same ones.

Example:

>>> [(len(t), len(v)) for t, v in k_fold_splits(10, 3, seed=0)]
[(6, 4), (7, 3), (7, 3)]
"""

import numbers

import numpy as np


def k_fold_indices(num_rows, k, seed=0):
    """`k` disjoint sorted validation index sets covering `0..num_rows-1`."""
    for argument, value, low in (("k", k, 2), ("num_rows", num_rows, k)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(f"k_fold_indices: {argument} must be an integer >= {low}; "
                             f"received {argument}={value!r}")
    order = np.random.default_rng([seed, 7]).permutation(num_rows)
    return [np.sort(fold) for fold in np.array_split(order, k)]


def k_fold_splits(num_rows, k, seed=0):
    """`[(training rows, validation rows)]` of the `k` folds (sorted int arrays)."""
    everything = np.arange(num_rows)
    return [(np.setdiff1d(everything, valid), valid)
            for valid in k_fold_indices(num_rows, k, seed)]
