"""The house-prices model of the notes: preprocessing + an MLP with L2 decay and dropout.

`tabular_mlp` builds the model, which predicts `log(target)`: `log_targets` are its training
targets, `predict_targets` turns its outputs back into targets.
"""

import keras
import numpy as np

from kerasnotes.data.tabular.minibatch_sampling import make_minibatch_dataset
from kerasnotes.data.tabular.tabular_preprocessing import TabularPreprocessing
from kerasnotes.layers.dropout import Dropout
from kerasnotes.layers.weight_decay import L2WeightDecay


def tabular_mlp(features, numeric_columns, categorical_columns, targets, hidden_units=(64,),
                weight_decay=1e-3, dropout=0.1, seed=0):
    """A functional `keras.Model` from raw table columns to `log(target)`, `(batch, 1)`.

    The notes' Kaggle house-prices recipe: numeric columns z-scored with the statistics of
    the training rows `features` (a missing value becomes 0), categorical ones one-hot
    (`TabularPreprocessing`), then `Dense(relu)` layers with the L2 penalty
    `lambda / 2 * ||w||^2` (`L2WeightDecay`) and inverted dropout, and a linear output for
    `log(y)`, so that the squared loss on it is the squared log error of the notes' metric.
    The output starts at the mean log target, so training begins near the answer. It
    computes in float32 under a mixed policy too: bfloat16 resolves a log price near 12
    only to 1/16, a 6% error of the price.

    Args:
        features: `{column: NumPy array}` of the training rows (fits the preprocessing).
        numeric_columns, categorical_columns: column names of each kind.
        targets: the training targets (positive), for the output's initial bias.
        hidden_units: sizes of the hidden layers.
        weight_decay: `lambda` of the L2 penalty on every kernel.
        dropout: drop probability after each hidden layer (0: none).
        seed: seed of the dropout masks.

    Example:

    >>> model = tabular_mlp({"Area": np.array([50.0, 80.0]), "Zone": np.array(["A", "B"])},
    ...                     ["Area"], ["Zone"], np.array([1e5, 2e5]), hidden_units=(8,))
    >>> model.output_shape
    (None, 1)
    """
    preprocessing = TabularPreprocessing.from_data(
        features, numeric_columns, categorical_columns, name="preprocessing")
    inputs = {name: keras.Input(shape=(), name=name,
                                dtype="float32" if name in numeric_columns else "string")
              for name in features}
    x = preprocessing(inputs)
    for i, units in enumerate(hidden_units):
        x = keras.layers.Dense(units, activation="relu", name=f"hidden{i + 1}",
                               kernel_regularizer=L2WeightDecay(weight_decay))(x)
        if dropout > 0:
            x = Dropout(dropout, seed=seed + i, name=f"dropout{i + 1}")(x)
    outputs = keras.layers.Dense(
        1, name="log_prediction", kernel_regularizer=L2WeightDecay(weight_decay),
        bias_initializer=keras.initializers.Constant(float(np.mean(np.log(targets)))),
        dtype="float32")(x)
    return keras.Model(inputs, outputs, name="tabular_mlp")


def log_targets(targets):
    """`log(targets)` as float32 `(N, 1)`: what `tabular_mlp` is trained to predict."""
    return np.log(np.asarray(targets)).astype("float32").reshape(-1, 1)


def predict_targets(model, features, batch_size=256):
    """The targets a `tabular_mlp` predicts for the rows of `features`, `exp(output)`.

    Args:
        model: a model from `tabular_mlp`.
        features: `{column: NumPy array}` of the rows, the raw columns.
        batch_size: rows per call of the model.

    Returns:
        float64 `(N,)`, in the rows' order.
    """
    dataset = make_minibatch_dataset(features, batch_size, seed=None)
    logs = [np.asarray(model(batch, training=False)).reshape(-1) for batch in dataset]
    return np.exp(np.concatenate(logs).astype(np.float64))


def evaluate_log_rmse(model, features, targets, batch_size=256):
    """The notes' log-RMSE `sqrt(mean((log(max(y_hat, 1)) - log(y))^2))` of the targets a
    `tabular_mlp` predicts for `features` (`LogRMSE` over all rows), as a float.

    Example:

    >>> evaluate_log_rmse(model, valid.features, valid.targets)   # a K-fold's score
    """
    from kerasnotes.metrics.log_rmse import LogRMSE

    metric = LogRMSE()
    metric.update_state(np.asarray(targets, "float32"),
                        predict_targets(model, features, batch_size).astype("float32"))
    return float(metric.result())
