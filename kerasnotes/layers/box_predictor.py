"""The SSD bounding-box prediction layer (边界框预测层)."""

import keras

from kerasnotes._checks import check_int
from kerasnotes.layers.class_predictor import PredictionConv


@keras.saving.register_keras_serializable(package="kerasnotes")
class BoxPredictor(PredictionConv):
    """Predicts the 4 offsets of every anchor of a feature map with one 3x3 convolution.

    The notes' 边界框预测层: the same form as the class-prediction layer, a convolution with
    a (3, 3) kernel and padding 1, but with `a * 4` output channels; channel `k * 4 + t`
    (0-based) holds offset `t` of `(dx, dy, dw, dh)` (see `offset_boxes`) for anchor `k` of
    every pixel:

        Y[n, i, j, k * 4 + t] = conv3x3(X)[n, i, j, k * 4 + t]

    Args:
        num_anchors: anchors per pixel `a` (>= 1).

    Call arguments:
        inputs: feature map `(batch, h, w, channels)`.

    Returns:
        offsets `(batch, h, w, num_anchors * 4)`.

    Example:

    >>> BoxPredictor(5)(np.zeros((2, 20, 20, 8), "float32")).shape
    TensorShape([2, 20, 20, 20])
    """

    def __init__(self, num_anchors, **kwargs):
        num_anchors = check_int("BoxPredictor", "num_anchors", num_anchors)
        super().__init__(num_anchors * 4, **kwargs)
        self.num_anchors = num_anchors

    def get_config(self):
        config = super().get_config()
        config.update({"num_anchors": self.num_anchors})
        return config
