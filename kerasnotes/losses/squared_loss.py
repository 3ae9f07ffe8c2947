"""Squared loss, the notes' cost for linear regression."""

import keras
from keras import ops


def squared_loss(y_true, y_pred):
    """Per-sample squared loss `l = (y_hat - y)^2 / 2`, averaged over the last axis.

    The notes' (and d2l's) linear-regression loss. The `1/2` makes its gradient
    `y_hat - y`, which gives the notes' SGD update `theta <- theta - eta/|B| sum x (y_hat - y)`.
    For a single output `(batch, 1)` the value is exactly d2l's `(y_hat - y)^2 / 2`; for several
    outputs it is averaged over them, like `keras.losses.mean_squared_error`.

    Args:
        y_true: targets `(batch, ..., d)`.
        y_pred: predictions, same shape as `y_true`.

    Returns:
        the loss per sample, `(batch, ...)`.

    Example:

    >>> squared_loss(np.array([[1.0]]), np.array([[3.0]]))  # (3 - 1)^2 / 2 = 2
    """
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(y_true, y_pred.dtype)
    return ops.mean(ops.square(y_pred - y_true), axis=-1) / 2


@keras.saving.register_keras_serializable(package="kerasnotes")
class SquaredLoss(keras.losses.Loss):
    """Squared loss `(y_hat - y)^2 / 2` (see `squared_loss`); Keras reduces over the batch.

    Equals `keras.losses.MeanSquaredError()(y, y_hat) / 2`.

    Args:
        reduction: Keras loss reduction (default `"sum_over_batch_size"`: the notes'
            `J = 1/|B| sum_i l_i`).
        name: name of the loss.
        dtype: dtype of the computation.

    Example:

    >>> SquaredLoss()(np.array([[1.0], [2.0]]), np.array([[3.0], [2.0]]))  # (2 + 0) / 2 = 1
    """

    def __init__(self, reduction="sum_over_batch_size", name="squared_loss", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        return squared_loss(y_true, y_pred)
