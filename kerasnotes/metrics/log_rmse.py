"""Root-mean-square error of logarithms, the house-price competition's metric."""

import keras
from keras import ops


def squared_log_error(y_true, y_pred):
    """Per-element `(log(max(y_hat, 1)) - log(y))^2`.

    Predictions below 1 are clipped to 1 first, as d2l's house-price `log_rmse` does, so a
    bad early prediction (0 or negative) gives a finite error.

    Args:
        y_true: positive targets, any shape.
        y_pred: predictions, the same shape (a different shape is a `ValueError`, not a
            broadcast).

    Returns:
        float tensor, the shape of the inputs.

    Example:

    >>> squared_log_error(np.array([100.0]), np.array([0.5]))  # log(100)^2 = 21.2
    """
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(y_true, y_pred.dtype)
    true_shape, pred_shape = tuple(y_true.shape), tuple(y_pred.shape)
    if len(true_shape) != len(pred_shape) or any(
        a is not None and b is not None and a != b
        for a, b in zip(true_shape, pred_shape, strict=True)
    ):
        raise ValueError(
            "log_rmse: y_true and y_pred must have the same shape (no broadcasting); "
            f"received {true_shape} and {pred_shape}"
        )
    clipped = ops.maximum(y_pred, ops.cast(1.0, y_pred.dtype))
    return ops.square(ops.log(clipped) - ops.log(y_true))


def log_rmse(y_true, y_pred):
    """`sqrt(1/n sum_i (log(max(y_hat_i, 1)) - log(y_i))^2)` over all elements.

    The error of relative (not absolute) differences: a 10% error on a cheap house costs as
    much as on an expensive one. It is the RMSE of the logarithms.

    Args:
        y_true: positive targets, any shape.
        y_pred: predictions, the same shape.

    Returns:
        a scalar float tensor.

    Example:

    >>> log_rmse(np.array([1.0, 1.0]), np.array([np.e, 1.0]))  # sqrt((1 + 0) / 2) = 0.707
    """
    return ops.sqrt(ops.mean(squared_log_error(y_true, y_pred)))


@keras.saving.register_keras_serializable(package="kerasnotes")
class LogRMSE(keras.metrics.Metric):
    """Streaming log-RMSE: `sqrt(sum of squared log errors / number of elements)`.

    Accumulates over batches the sum of `(log(max(y_hat, 1)) - log(y))^2` (see
    `squared_log_error`) and the count, so the result over a whole dataset equals
    `log_rmse` of all its predictions at once (not a mean of per-batch values).
    `sample_weight` weights each example.

    Args:
        name: name of the metric.
        dtype: dtype of the accumulators.

    Example:

    >>> metric = LogRMSE()
    >>> metric.update_state(np.array([1.0]), np.array([np.e]))
    >>> metric.update_state(np.array([1.0]), np.array([1.0]))
    >>> float(metric.result())  # sqrt(1 / 2)
    0.7071...
    """

    def __init__(self, name="log_rmse", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype,
                                       name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype,
                                       name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        errors = ops.cast(squared_log_error(y_true, ops.cast(y_pred, "float32")), self.dtype)
        if sample_weight is None:
            weights = ops.ones_like(errors)
        else:
            weights = ops.cast(sample_weight, self.dtype)
            while len(weights.shape) < len(errors.shape):
                weights = ops.expand_dims(weights, -1)
            weights = ops.broadcast_to(weights, ops.shape(errors))
        self.total.assign_add(ops.sum(errors * weights))
        self.count.assign_add(ops.sum(weights))

    def result(self):
        return ops.sqrt(ops.divide_no_nan(self.total, self.count))

    def reset_state(self):
        self.total.assign(0.0)
        self.count.assign(0.0)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}
