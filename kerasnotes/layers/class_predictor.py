"""The SSD class-prediction layer (类别预测层)."""

import keras

from kerasnotes._checks import check_int
from kerasnotes.ops.conv3x3_amx import add_bias, conv3x3_same, uses_amx_weight_gradient


class PredictionConv(keras.layers.Layer):
    """The form of the SSD prediction layers: one convolution with a (3, 3) kernel and
    padding 1, which keeps height and width, with `channels` outputs.

    `ClassPredictor` and `BoxPredictor` are this layer with `a * (q + 1)` and `a * 4`
    channels, and their own arguments and configuration; its convolution is named `conv`.
    In training under `mixed_bfloat16`, the convolution's weight gradient comes from the AMX
    kernel where it applies (`kerasnotes.ops.conv3x3_amx`: small feature maps), and the
    bias gradient is summed in float32 (`add_bias`); the outputs are the same.
    """

    def __init__(self, channels, **kwargs):
        super().__init__(**kwargs)
        self.conv = keras.layers.Conv2D(channels, 3, padding="same", name="conv",
                                        dtype=self.dtype_policy)

    def build(self, input_shape):
        self.conv.build(tuple(input_shape))

    def call(self, inputs, training=None):
        if training and uses_amx_weight_gradient(self.conv, inputs):
            y = conv3x3_same(inputs, self.conv.kernel)
            return add_bias(y, self.conv.bias) if self.conv.use_bias else y
        return self.conv(inputs)

    def compute_output_shape(self, input_shape):
        return self.conv.compute_output_shape(tuple(input_shape))


@keras.saving.register_keras_serializable(package="kerasnotes")
class ClassPredictor(PredictionConv):
    """Predicts the class scores of every anchor of a feature map with one 3x3 convolution.

    The notes' 类别预测层 (method 1): with `a` anchors centred on each of the `h x w`
    feature-map pixels and `q` object classes (+1 for background, class 0), a convolution
    with a (3, 3) kernel and padding 1 keeps height and width and has `a * (q + 1)` output
    channels; channel `k * (q + 1) + j` (0-based) holds the score of class `j` for anchor
    `k` of every pixel:

        Y[n, i, j', k * (q + 1) + c] = conv3x3(X)[n, i, j', k * (q + 1) + c]

    so `reshape(Y, (n, h, w, a, q + 1))[n, i, j', k]` are the logits of anchor `k` of pixel
    `(i, j')`, the anchor order of `multibox_prior`.

    Args:
        num_anchors: anchors per pixel `a` (>= 1).
        num_classes: object classes `q` (>= 1), background excluded.

    Call arguments:
        inputs: feature map `(batch, h, w, channels)`.

    Returns:
        logits `(batch, h, w, num_anchors * (num_classes + 1))`.

    Example:

    >>> ClassPredictor(5, 10)(np.zeros((2, 20, 20, 8), "float32")).shape
    TensorShape([2, 20, 20, 55])
    """

    def __init__(self, num_anchors, num_classes, **kwargs):
        num_anchors = check_int("ClassPredictor", "num_anchors", num_anchors)
        num_classes = check_int("ClassPredictor", "num_classes", num_classes)
        super().__init__(num_anchors * (num_classes + 1), **kwargs)
        self.num_anchors = num_anchors
        self.num_classes = num_classes

    def get_config(self):
        config = super().get_config()
        config.update({"num_anchors": self.num_anchors, "num_classes": self.num_classes})
        return config
