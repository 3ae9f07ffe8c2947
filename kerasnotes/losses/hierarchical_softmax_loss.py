"""The training loss of hierarchical softmax: the masked mean of `-log P(w | h)`.

`kerasnotes.layers.hierarchical_softmax.HierarchicalSoftmax` computes `-log P(w | h)` of
each target word; this loss averages it over the valid targets. Registered for Keras
serialization as `"kerasnotes>HierarchicalSoftmaxLoss"`.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kerasnotes")
class HierarchicalSoftmaxLoss(keras.losses.Loss):
    """The training loss of a model whose output is `HierarchicalSoftmax`'s `-log P(w | h)`.

    The layer already computes the loss of each target word; this averages it over the
    valid (unpadded) targets of each example, like the masked binary cross-entropy does
    for negative sampling:

        loss = sum_i m_i * (-log P(w_i | h)) / sum_i m_i

    `y_true` is the mask `(b, ..., m)`, or the word2vec pipeline's stacked
    `(labels, masks)` of shape `(b, ..., m, 2)` (the mask is `y_true[..., 1]`).

    Example:

    >>> HierarchicalSoftmaxLoss()(np.array([[1.0, 0.0]]), np.array([[0.7, 5.0]]))  # 0.7
    """

    def __init__(self, reduction="sum_over_batch_size", name="hierarchical_softmax_loss",
                 dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        if len(y_true.shape) == len(y_pred.shape) + 1 and y_true.shape[-1] == 2:
            y_true = y_true[..., 1]
        elif len(y_true.shape) != len(y_pred.shape):
            raise ValueError(
                "HierarchicalSoftmaxLoss: y_true must be the mask (shape of y_pred) or the "
                f"stacked labels and mask (y_pred.shape + (2,)); received y_true.shape="
                f"{y_true.shape}, y_pred.shape={y_pred.shape}"
            )
        mask = ops.cast(y_true, y_pred.dtype)
        return ops.divide_no_nan(ops.sum(y_pred * mask, axis=-1), ops.sum(mask, axis=-1))
