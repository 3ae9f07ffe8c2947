"""Semantic segmentation metrics: pixel accuracy and mean IoU, ignoring boundary pixels."""

import keras
import tensorflow as tf

from kerasnotes._checks import check_int


class _ConfusionMatrixMetric(keras.metrics.Metric):
    """Accumulates the `(num_classes, num_classes)` confusion matrix of labelled pixels."""

    def __init__(self, num_classes, ignore_label=255, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        cls = type(self).__name__
        self.num_classes = check_int(cls, "num_classes", num_classes)
        self.ignore_label = check_int(cls, "ignore_label", ignore_label, minimum=None)
        self.confusion = self.add_variable(shape=(self.num_classes, self.num_classes),
                                           initializer="zeros", dtype="float64",
                                           name="confusion")

    def update_state(self, y_true, y_pred, sample_weight=None):
        labels = tf.convert_to_tensor(y_true)
        logits = tf.convert_to_tensor(y_pred)
        if labels.shape.rank == logits.shape.rank and labels.shape[-1] == 1:
            labels = tf.squeeze(labels, -1)
        labels = tf.reshape(tf.cast(labels, "int32"), [-1])
        predicted = tf.reshape(tf.argmax(logits, axis=-1, output_type="int32"), [-1])
        valid = (labels != self.ignore_label) & (labels >= 0) & (labels < self.num_classes)
        weights = tf.cast(valid, "float64")
        if sample_weight is not None:
            sample_weight = tf.cast(tf.convert_to_tensor(sample_weight), "float64")
            per_pixel = tf.size(labels) // tf.maximum(tf.size(sample_weight), 1)
            weights *= tf.repeat(tf.reshape(sample_weight, [-1]), per_pixel)
        matrix = tf.math.confusion_matrix(tf.where(valid, labels, 0), predicted,
                                          num_classes=self.num_classes, weights=weights,
                                          dtype="float64")
        self.confusion.assign_add(matrix)

    def reset_state(self):
        self.confusion.assign(tf.zeros_like(self.confusion))

    def get_config(self):
        config = super().get_config()
        config.update({"num_classes": self.num_classes, "ignore_label": self.ignore_label})
        return config


@keras.saving.register_keras_serializable(package="kerasnotes")
class PixelAccuracy(_ConfusionMatrixMetric):
    """Fraction of labelled pixels whose argmax class is right.

        pixel_accuracy = sum_i M[i, i] / sum_{i, j} M[i, j]

    with `M` the confusion matrix (rows: true class, columns: predicted class) over all
    pixels whose label is not `ignore_label` (VOC boundaries, 255).

    Args:
        num_classes: number of classes `q`.
        ignore_label: label left out (default 255).

    Call arguments (`update_state`): `y_true` labels `(N, H, W)` (or `(..., 1)`), `y_pred`
    logits or probabilities `(N, H, W, q)`.

    Example:

    >>> m = PixelAccuracy(2)
    >>> m.update_state(np.array([[0, 1, 255]]), np.array([[[1, 0], [1, 0], [0, 1]]], "float32"))
    >>> float(m.result())
    0.5
    """

    def __init__(self, num_classes, ignore_label=255, name="pixel_accuracy", dtype=None):
        super().__init__(num_classes, ignore_label, name=name, dtype=dtype)

    def result(self):
        total = tf.reduce_sum(self.confusion)
        return tf.cast(tf.math.divide_no_nan(tf.linalg.trace(self.confusion), total),
                       self.dtype)


@keras.saving.register_keras_serializable(package="kerasnotes")
class MeanIoU(_ConfusionMatrixMetric):
    """Mean intersection over union of the classes, over labelled pixels.

        IoU_i = M[i, i] / (sum_j M[i, j] + sum_j M[j, i] - M[i, i])
        mean_iou = mean of IoU_i over the classes i with a non-empty union

    (`M` the confusion matrix of the pixels whose label is not `ignore_label`), the same as
    `keras.metrics.MeanIoU(num_classes, ignore_class=255, sparse_y_pred=False)`.

    Args:
        num_classes: number of classes `q`.
        ignore_label: label left out (default 255).

    Example:

    >>> m = MeanIoU(2)
    >>> m.update_state(np.array([[0, 1, 255]]), np.array([[[1, 0], [1, 0], [0, 1]]], "float32"))
    >>> float(m.result())  # class 0: 1/2, class 1: 0/1
    0.25
    """

    def __init__(self, num_classes, ignore_label=255, name="mean_iou", dtype=None):
        super().__init__(num_classes, ignore_label, name=name, dtype=dtype)

    def result(self):
        diagonal = tf.linalg.diag_part(self.confusion)
        union = (tf.reduce_sum(self.confusion, 0) + tf.reduce_sum(self.confusion, 1)
                 - diagonal)
        present = tf.cast(union > 0, "float64")
        iou = tf.math.divide_no_nan(diagonal, union)
        mean = tf.math.divide_no_nan(tf.reduce_sum(iou), tf.reduce_sum(present))
        return tf.cast(mean, self.dtype)
