"""Per-pixel softmax cross-entropy for semantic segmentation, ignoring boundary pixels."""

import keras
from keras import ops

from kerasnotes._checks import check_int
from kerasnotes.losses.softmax_cross_entropy import log_softmax


def pixel_softmax_cross_entropy(y_true, y_pred, ignore_label=255):
    """Mean softmax cross-entropy over the labelled pixels of each image.

    For image `n` with valid pixels `P_n = {p : y[n, p] != ignore_label}`:

        loss_n = 1 / |P_n| * sum_{p in P_n} -log softmax(o[n, p])_{y[n, p]}

    (0 for an image without valid pixel), the notes' softmax cross-entropy applied to every
    pixel, with VOC's boundary label 255 left out.

    Args:
        y_true: integer labels `(N, H, W)` or `(N, H, W, 1)`.
        y_pred: logits `(N, H, W, q)`.
        ignore_label: the label that carries no loss.

    Returns:
        `(N,)` per-image losses.

    Example:

    >>> pixel_softmax_cross_entropy(np.array([[[0, 255]]]), np.zeros((1, 1, 2, 2)))  # log 2
    """
    logits = ops.convert_to_tensor(y_pred)
    labels = ops.convert_to_tensor(y_true)
    if len(labels.shape) == len(logits.shape) and labels.shape[-1] == 1:
        labels = ops.squeeze(labels, axis=-1)
    if len(labels.shape) != 3 or len(logits.shape) != 4:
        raise ValueError(
            "pixel_softmax_cross_entropy: y_true must be (N, H, W) labels and y_pred (N, H, W, "
            f"q) logits; received y_true.shape={labels.shape}, y_pred.shape={logits.shape}")
    labels = ops.cast(labels, "int32")
    valid = ops.not_equal(labels, ignore_label)
    safe = ops.where(valid, labels, 0)
    one_hot = ops.one_hot(safe, logits.shape[-1], dtype=logits.dtype)
    per_pixel = -ops.sum(one_hot * log_softmax(logits), axis=-1)
    weights = ops.cast(valid, logits.dtype)
    total = ops.sum(per_pixel * weights, axis=(1, 2))
    count = ops.sum(weights, axis=(1, 2))
    return total / ops.maximum(count, 1.0)


@keras.saving.register_keras_serializable(package="kerasnotes")
class PixelSoftmaxCrossEntropy(keras.losses.Loss):
    """Per-pixel softmax cross-entropy ignoring `ignore_label` (see
    `pixel_softmax_cross_entropy`); the batch reduction is Keras'.

    Args:
        ignore_label: label without loss (VOC boundaries: 255).
        reduction, name: as for any `keras.losses.Loss`.

    Example:

    >>> PixelSoftmaxCrossEntropy()(np.zeros((1, 2, 2)), np.zeros((1, 2, 2, 3)))  # log 3
    """

    def __init__(self, ignore_label=255, reduction="sum_over_batch_size",
                 name="pixel_softmax_cross_entropy", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.ignore_label = check_int("PixelSoftmaxCrossEntropy", "ignore_label", ignore_label,
                                      minimum=None)

    def call(self, y_true, y_pred):
        return pixel_softmax_cross_entropy(y_true, y_pred, self.ignore_label)

    def get_config(self):
        config = super().get_config()
        config["ignore_label"] = self.ignore_label
        return config
