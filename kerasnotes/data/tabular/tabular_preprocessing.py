"""Preprocessing of raw table columns: z-score standardization and one-hot encoding."""

import math

import keras
import numpy as np
from keras import ops


def _check_names(argument, names):
    if isinstance(names, str) or not all(isinstance(n, str) and n for n in names):
        raise ValueError(
            f"TabularPreprocessing: {argument} must be a list of non-empty column names; "
            f"received {argument}={names!r}"
        )
    return list(names)


@keras.saving.register_keras_serializable(package="kerasnotes")
class TabularPreprocessing(keras.layers.Layer):
    """Turns raw table columns (numbers and strings) into one float feature matrix.

    The notes' two preprocessing steps ("预处理数据集"):

    1. feature standardization of each numeric column, the z-score
       `x' = (x - mu) / sigma`, with `mu` and `sigma^2` the mean and (population)
       variance of the column over the *training* rows, missing values (NaN) left out;
       after standardization a missing value is `0` (the training mean). This is
       `keras.layers.Normalization(mean=mu, variance=sigma^2)` followed by `NaN -> 0`;
       a constant training column gets `sigma = 1`.
    2. indicator features for each categorical column: a value among `A, B, C` becomes
       `(1, 0, 0)`, `(0, 1, 0)` or `(0, 0, 1)`. This is
       `keras.layers.StringLookup(vocabulary, output_mode="one_hot")`: the vocabulary is
       the sorted set of training values, and its first output slot (index 0) is for
       values never seen in training.

    The output is `[standardized numeric columns, one-hot of categorical column 1, ...]`
    in the order the columns are named. The statistics and vocabularies are constructor
    arguments, so they travel in the layer's config: a model saved as `.keras` or exported
    as a SavedModel carries them. Fit them on the training rows only with
    `TabularPreprocessing.from_data(training_columns, ...)` (`Normalization.adapt` cannot
    skip missing values, hence the NumPy fit).

    Args:
        numeric_columns: names of the numeric columns.
        categorical_columns: names of the categorical (string) columns.
        mean: one training mean per numeric column.
        variance: one training variance per numeric column (> 0).
        vocabularies: `{column: [values seen in training]}` for each categorical column.

    Call arguments:
        inputs: a dict `{column: tensor (batch,)}` with every named column: numbers
            (any float or int dtype; NaN for missing) and strings. Other keys are ignored.

    Returns:
        float32 `(batch, len(numeric_columns) + sum(len(vocabulary) + 1))`.

    Precision: the layer computes in float32 under any Keras dtype policy (unless given
    another `dtype`): under `mixed_float16` a variance such as a lot area's `1.6e7`
    overflows float16 (max `65504`) and a year is rounded to 2. The next layer casts the
    z-scores and indicators to its own compute dtype.

    Example:

    >>> columns = {"area": np.array([50.0, 70.0, np.nan]), "street": np.array(["a", "b", "a"])}
    >>> layer = TabularPreprocessing.from_data(columns, ["area"], ["street"])
    >>> layer(columns)  # [[-1, 0, 1, 0], [1, 0, 0, 1], [0, 0, 1, 0]]
    """

    def __init__(self, numeric_columns=(), categorical_columns=(), mean=(), variance=(),
                 vocabularies=None, **kwargs):
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "float32"
        super().__init__(**kwargs)
        numeric_columns = _check_names("numeric_columns", numeric_columns)
        categorical_columns = _check_names("categorical_columns", categorical_columns)
        vocabularies = dict(vocabularies or {})
        if not numeric_columns and not categorical_columns:
            raise ValueError("TabularPreprocessing: no columns; name numeric_columns and/or "
                             "categorical_columns")
        both = sorted(set(numeric_columns) & set(categorical_columns))
        duplicates = sorted({c for c in numeric_columns + categorical_columns
                             if (numeric_columns + categorical_columns).count(c) > 1})
        if both or duplicates:
            raise ValueError(f"TabularPreprocessing: columns named twice: {both or duplicates}")
        mean = [float(m) for m in mean]
        variance = [float(v) for v in variance]
        if len(mean) != len(numeric_columns) or len(variance) != len(numeric_columns):
            raise ValueError(
                f"TabularPreprocessing: mean and variance need one value per numeric column "
                f"({len(numeric_columns)}); received {len(mean)} means and "
                f"{len(variance)} variances"
            )
        bad = [c for c, m, v in zip(numeric_columns, mean, variance, strict=True)
               if not (math.isfinite(m) and math.isfinite(v) and v > 0)]
        if bad:
            raise ValueError(
                "TabularPreprocessing: mean must be finite and variance finite and > 0; "
                f"received bad statistics for columns {bad}"
            )
        missing = [c for c in categorical_columns if c not in vocabularies]
        if missing:
            raise ValueError(f"TabularPreprocessing: no vocabulary for columns {missing}")
        self.numeric_columns = numeric_columns
        self.categorical_columns = categorical_columns
        self.mean = mean
        self.variance = variance
        self.vocabularies = {c: [str(v) for v in vocabularies[c]] for c in categorical_columns}
        self.normalization = None
        if numeric_columns:
            self.normalization = keras.layers.Normalization(
                axis=-1, mean=mean, variance=variance, name="standardize",
                dtype=self.dtype_policy,
            )
        self.lookups = [
            keras.layers.StringLookup(
                vocabulary=self.vocabularies[c], num_oov_indices=1, output_mode="one_hot",
                name=f"one_hot_{i}",
            )
            for i, c in enumerate(categorical_columns)
        ]

    @classmethod
    def from_data(cls, columns, numeric_columns, categorical_columns, **kwargs):
        """Fits the statistics on `columns` (the training rows only) and returns the layer.

        Args:
            columns: `{column: array (N,)}` of the training rows: numbers (NaN missing)
                for the numeric columns, strings for the categorical ones.
            numeric_columns: names of the numeric columns.
            categorical_columns: names of the categorical columns.
            **kwargs: other layer arguments (`name`, ...).
        """
        numeric_columns = _check_names("numeric_columns", numeric_columns)
        categorical_columns = _check_names("categorical_columns", categorical_columns)
        absent = [c for c in numeric_columns + categorical_columns if c not in columns]
        if absent:
            raise ValueError(f"TabularPreprocessing.from_data: columns not in the data: {absent}")
        mean, variance = [], []
        for name in numeric_columns:
            try:
                values = np.asarray(columns[name], dtype=np.float64).reshape(-1)
            except ValueError:
                raise ValueError(
                    f"TabularPreprocessing.from_data: numeric column {name!r} holds "
                    "non-numbers"
                ) from None
            present = values[~np.isnan(values)]
            mu = float(present.mean()) if present.size else 0.0
            var = float(present.var()) if present.size else 0.0
            mean.append(mu)
            variance.append(var if var > 0 else 1.0)
        vocabularies = {
            name: sorted({str(v) for v in np.asarray(columns[name]).reshape(-1)})
            for name in categorical_columns
        }
        return cls(numeric_columns, categorical_columns, mean, variance, vocabularies, **kwargs)

    @property
    def output_size(self):
        """Number of output features."""
        return len(self.numeric_columns) + sum(
            len(self.vocabularies[c]) + 1 for c in self.categorical_columns
        )

    def build(self, input_shape=None):
        if self.normalization is not None:
            self.normalization.build((None, len(self.numeric_columns)))
        for lookup in self.lookups:
            lookup.build((None,))
        self.built = True

    def call(self, inputs):
        parts = []
        if self.numeric_columns:
            numbers = ops.stack(
                [ops.cast(inputs[c], "float32") for c in self.numeric_columns], axis=-1
            )
            standardized = self.normalization(numbers)
            parts.append(ops.where(ops.isnan(standardized), 0.0, standardized))
        for name, lookup in zip(self.categorical_columns, self.lookups, strict=True):
            parts.append(ops.cast(lookup(inputs[name]), "float32"))
        return parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=-1)

    def compute_output_shape(self, input_shape):
        first = input_shape[(self.numeric_columns + self.categorical_columns)[0]]
        return (first[0], self.output_size)

    def get_config(self):
        config = super().get_config()
        config.update({
            "numeric_columns": self.numeric_columns,
            "categorical_columns": self.categorical_columns,
            "mean": self.mean,
            "variance": self.variance,
            "vocabularies": self.vocabularies,
        })
        return config
