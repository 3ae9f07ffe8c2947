"""Softmax cross-entropy on logits with integer labels, from the notes' formula."""

import keras
from keras import ops


def log_softmax(logits, axis=-1):
    """Numerically stable `log softmax(o) = o - max(o) - log(sum(exp(o - max(o))))`.

    Subtracting `max(o)` keeps every `exp` in `(0, 1]`, so logits of any size give finite values.
    `max(o)` is treated as a constant (its gradient cancels exactly).
    """
    logits = ops.convert_to_tensor(logits)
    shifted = logits - ops.stop_gradient(ops.max(logits, axis=axis, keepdims=True))
    return shifted - ops.log(ops.sum(ops.exp(shifted), axis=axis, keepdims=True))


def softmax_cross_entropy(y_true, y_pred):
    """Per-sample cross-entropy of `softmax(logits)` against integer class labels.

    The notes' formulas: `softmax(o)_j = exp(o_j) / sum_k exp(o_k)` and
    `H(y, y_hat) = -sum_j y_j log(y_hat_j)`; with a one-hot `y` for class `c` this is
    `-log softmax(o)_c`, computed with the stable `log_softmax` above.

    Args:
        y_true: integer labels `(batch, ...)` or `(batch, ..., 1)` with values in `[0, q)`
            (float values holding integers are accepted, as Keras passes them).
        y_pred: logits `(batch, ..., q)`.

    Returns:
        the loss per sample, `(batch, ...)`.

    Example:

    >>> softmax_cross_entropy(np.array([0]), np.array([[0.0, 0.0]]))  # log 2
    """
    logits = ops.convert_to_tensor(y_pred)
    labels = ops.convert_to_tensor(y_true)
    if len(labels.shape) == len(logits.shape) and labels.shape[-1] == 1:
        labels = ops.squeeze(labels, axis=-1)
    if len(labels.shape) != len(logits.shape) - 1:
        raise ValueError(
            "softmax_cross_entropy: y_true must have shape y_pred.shape[:-1] "
            "(or with a trailing 1); "
            f"received y_true.shape={labels.shape}, y_pred.shape={logits.shape}"
        )
    labels = ops.cast(labels, "int32")
    one_hot = ops.one_hot(labels, logits.shape[-1], dtype=logits.dtype)
    return -ops.sum(one_hot * log_softmax(logits), axis=-1)


@keras.saving.register_keras_serializable(package="kerasnotes")
class SoftmaxCrossEntropy(keras.losses.Loss):
    """Softmax cross-entropy on logits with sparse integer labels (see `softmax_cross_entropy`).

    The notes' cost `J = 1/|B| sum_i H(y_i, softmax(o_i))` with the default reduction.
    Equals `keras.losses.SparseCategoricalCrossentropy(from_logits=True)`.

    Args:
        reduction: Keras loss reduction (default `"sum_over_batch_size"`).
        name: name of the loss.
        dtype: dtype of the computation.

    Example:

    >>> SoftmaxCrossEntropy()(np.array([1, 0]), np.array([[0.0, 0.0], [0.0, 0.0]]))  # log 2
    """

    def __init__(self, reduction="sum_over_batch_size", name="softmax_cross_entropy", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        return softmax_cross_entropy(y_true, y_pred)
