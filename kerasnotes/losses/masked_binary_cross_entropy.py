"""Masked binary cross-entropy on logits, the notes' f(P, L, M) (used by word2vec)."""

import keras
from keras import ops


def masked_binary_cross_entropy(labels, logits, mask=None):
    """Per-example masked binary cross-entropy, the notes' `f(P, L, M)`.

    The notes' steps: flip the sign of the logit where the label is 0 (`p'_i = -p_i` if
    `l_i = 0`), take `-log sigmoid(p'_i)`, and average over the positions with `m_i = 1`:

        f(P, L, M) = sum_i m_i * -log sigmoid(p'_i) / sum_i m_i

    `-log sigmoid(z) = softplus(-z)` is evaluated stably, so logits of any size give finite
    values. A row whose mask is all zeros gets a loss of 0.

    Args:
        labels: `l` in `{0, 1}`, `(batch, ..., n)`.
        logits: `p`, same shape.
        mask: `m` in `{0, 1}`, same shape; `None` means every position counts.

    Returns:
        the loss per example, `(batch, ...)`.

    Example:

    >>> masked_binary_cross_entropy(np.array([[1.0, 0.0, 1.0]]), np.array([[0.0, 0.0, 9.0]]),
    ...                             np.array([[1.0, 1.0, 0.0]]))  # log 2
    """
    logits = ops.convert_to_tensor(logits)
    labels = ops.cast(labels, logits.dtype)
    signed = ops.where(labels > 0.5, logits, -logits)
    losses = ops.softplus(-signed)
    if mask is None:
        return ops.mean(losses, axis=-1)
    mask = ops.cast(mask, logits.dtype)
    return ops.divide_no_nan(ops.sum(losses * mask, axis=-1), ops.sum(mask, axis=-1))


@keras.saving.register_keras_serializable(package="kerasnotes")
class MaskedBinaryCrossEntropy(keras.losses.Loss):
    """Masked binary cross-entropy on logits (see `masked_binary_cross_entropy`).

    `y_true` carries the labels and, optionally, the mask, so that the loss fits Keras'
    `loss(y_true, y_pred)` signature:

    - `y_true` of the same shape as the logits `(batch, n)`: labels, every position counts
      (then it equals `keras.losses.BinaryCrossentropy(from_logits=True)`);
    - `y_true` of shape `(batch, n, 2)`: `y_true[..., 0]` the labels, `y_true[..., 1]` the mask,
      e.g. `np.stack([labels, mask], axis=-1)` for word2vec's padded context/noise words.

    Args:
        reduction: Keras loss reduction (default `"sum_over_batch_size"`: mean over examples).
        name: name of the loss.
        dtype: dtype of the computation.

    Example:

    >>> labels, mask = np.array([[1.0, 0.0, 1.0]]), np.array([[1.0, 1.0, 0.0]])
    >>> y_true = np.stack([labels, mask], axis=-1)  # (1, 3, 2)
    >>> MaskedBinaryCrossEntropy()(y_true, np.array([[0.0, 0.0, 9.0]]))  # log 2
    """

    def __init__(self, reduction="sum_over_batch_size", name="masked_binary_cross_entropy",
                 dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        if len(y_true.shape) == len(y_pred.shape):
            return masked_binary_cross_entropy(y_true, y_pred)
        if len(y_true.shape) == len(y_pred.shape) + 1 and y_true.shape[-1] == 2:
            return masked_binary_cross_entropy(y_true[..., 0], y_pred, y_true[..., 1])
        raise ValueError(
            "MaskedBinaryCrossEntropy: y_true must have the shape of y_pred (labels) or "
            "y_pred.shape + (2,) (labels and mask); "
            f"received y_true.shape={y_true.shape}, y_pred.shape={y_pred.shape}"
        )
