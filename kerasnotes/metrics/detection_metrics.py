"""d2l's training metrics of SSD: the anchor class error and the box offset MAE."""

import keras
import tensorflow as tf
from keras import ops


def _targets_and_predictions(metric, y_true, y_pred, keys_true, keys_pred):
    for name, value, keys in (("y_true", y_true, keys_true), ("y_pred", y_pred, keys_pred)):
        if not isinstance(value, dict) or any(k not in value for k in keys):
            found = sorted(value) if isinstance(value, dict) else type(value).__name__
            raise ValueError(f"{metric}: {name} must be a dict with keys {list(keys)}; "
                             f"received {found}")


@keras.saving.register_keras_serializable(package="kerasnotes")
class AnchorClassError(keras.metrics.Metric):
    """Fraction of anchors whose predicted class is wrong (d2l's "class err").

    Over every anchor `a` of every image seen (background anchors included, as d2l
    counts them):

        class_error = 1 - #{a : argmax_j o_{a,j} == c_a} / #anchors

    Args:
        name: metric name (default `"class_error"`).
        dtype: dtype of the state.

    Call arguments of `update_state(y_true, y_pred, sample_weight=None)`:
        y_true: dict with `"class_labels"` int `(batch, A)` (from `ssd_targets`).
        y_pred: dict with `"class_logits"` `(batch, A, q + 1)`.
        sample_weight: optional per-image weights `(batch,)`.

    Example:

    >>> metric = AnchorClassError()
    >>> metric.update_state({"class_labels": [[0, 1]]},
    ...                     {"class_logits": [[[1.0, 0.0], [1.0, 0.0]]]})
    >>> float(metric.result())
    0.5
    """

    def __init__(self, name="class_error", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.wrong = self.add_variable((), initializer="zeros", name="wrong")
        self.total = self.add_variable((), initializer="zeros", name="total")

    def update_state(self, y_true, y_pred, sample_weight=None):
        _targets_and_predictions(self.name, y_true, y_pred, ("class_labels",), ("class_logits",))
        labels = ops.cast(y_true["class_labels"], "int32")
        # TF's argmax: keras.ops.argmax adds ~8 elementwise passes over the logits (its
        # -0.0 handling), 3.5x this op's time at TinySSD's 256x256 shapes.
        predicted = tf.argmax(y_pred["class_logits"], axis=-1, output_type=tf.int32)
        wrong = ops.cast(ops.not_equal(predicted, labels), self.dtype)
        weights = ops.ones_like(wrong)
        if sample_weight is not None:
            weights = weights * ops.cast(ops.reshape(sample_weight, (-1, 1)), self.dtype)
        self.wrong.assign_add(ops.sum(wrong * weights))
        self.total.assign_add(ops.sum(weights))

    def result(self):
        return ops.divide_no_nan(self.wrong, self.total)

    def reset_state(self):
        self.wrong.assign(0.0)
        self.total.assign(0.0)


@keras.saving.register_keras_serializable(package="kerasnotes")
class BoxOffsetMAE(keras.metrics.Metric):
    """Mean absolute error of the masked box offsets (d2l's "bbox mae").

    Over every offset entry `k` of every image seen (4 per anchor, background anchors
    included with mask 0, as d2l divides by the number of entries):

        bbox_mae = sum_k |m_k * (t_k - p_k)| / #entries

    Args:
        name: metric name (default `"bbox_mae"`).
        dtype: dtype of the state.

    Call arguments of `update_state(y_true, y_pred, sample_weight=None)`:
        y_true: dict with `"bbox_offsets"` and `"bbox_mask"` `(batch, 4A)`.
        y_pred: dict with `"bbox_offsets"` `(batch, 4A)`.
        sample_weight: optional per-image weights `(batch,)`.

    Example:

    >>> metric = BoxOffsetMAE()
    >>> metric.update_state({"bbox_offsets": [[1.0, 2.0]], "bbox_mask": [[1.0, 0.0]]},
    ...                     {"bbox_offsets": [[0.0, 0.0]]})
    >>> float(metric.result())
    0.5
    """

    def __init__(self, name="bbox_mae", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.error = self.add_variable((), initializer="zeros", name="error")
        self.total = self.add_variable((), initializer="zeros", name="total")

    def update_state(self, y_true, y_pred, sample_weight=None):
        _targets_and_predictions(self.name, y_true, y_pred, ("bbox_offsets", "bbox_mask"),
                                 ("bbox_offsets",))
        target = ops.cast(y_true["bbox_offsets"], self.dtype)
        mask = ops.cast(y_true["bbox_mask"], self.dtype)
        predicted = ops.cast(y_pred["bbox_offsets"], self.dtype)
        error = ops.abs(mask * (target - predicted))
        weights = ops.ones_like(error)
        if sample_weight is not None:
            weights = weights * ops.cast(ops.reshape(sample_weight, (-1, 1)), self.dtype)
        self.error.assign_add(ops.sum(error * weights))
        self.total.assign_add(ops.sum(weights))

    def result(self):
        return ops.divide_no_nan(self.error, self.total)

    def reset_state(self):
        self.error.assign(0.0)
        self.total.assign(0.0)
