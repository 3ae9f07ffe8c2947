"""The SSD height-and-width halving block (高宽减半块)."""

import keras
from keras import ops

from kerasnotes._checks import check_int, check_number
from kerasnotes.layers.fused_batch_norm_relu import FusedBatchNormReLU
from kerasnotes.ops.conv3x3_amx import conv3x3_same, uses_amx_weight_gradient


@keras.saving.register_keras_serializable(package="kerasnotes")
class DownSampleBlock(keras.layers.Layer):
    """SSD's down-sample block: two (3x3 conv, batch norm, ReLU), then 2x2 max pooling.

    The notes' 高宽减半块: twice a convolution with a (3, 3) kernel and padding 1 (height
    and width kept), batch normalization and ReLU, then a max pooling with a (2, 2) window
    and stride 2, which halves height and width (rounded down):

        x <- relu(batch_norm(conv3x3(x)))      twice, `filters` channels each
        y = maxpool2x2_stride2(x)

    (each batch norm and its ReLU are one `FusedBatchNormReLU` layer; in training the second
    one and the pooling run as one fused kernel, `FusedBatchNormReLU.call_then_pool`, and
    each convolution's bias, which the batch mean cancels, goes to the moving mean only).

    Every output pixel therefore sees a 10x10 window of the input (the receptive field
    grows, so deeper blocks detect larger objects).

    Args:
        filters: output channels of both convolutions (>= 1).
        momentum: momentum of the batch-norm moving averages (`FusedBatchNormReLU`:
            Keras' batch norm and a ReLU, fused kernels in training), default 0.9 (MXNet's
            `BatchNorm`, used by the notes; Keras' default 0.99 needs ~10x more steps before
            inference mode matches training on small datasets).

    Call arguments:
        inputs: `(batch, height, width, channels)`.
        training: batch statistics (True) or moving averages (False) in batch norm.

    Returns:
        `(batch, height // 2, width // 2, filters)`.

    Example:

    >>> block = DownSampleBlock(filters=10)
    >>> block(np.zeros((2, 20, 20, 3), "float32")).shape
    TensorShape([2, 10, 10, 10])
    """

    def __init__(self, filters, momentum=0.9, **kwargs):
        super().__init__(**kwargs)
        self.filters = check_int("DownSampleBlock", "filters", filters)
        self.momentum = check_number("DownSampleBlock", "momentum", momentum, minimum=0,
                                     exclusive_maximum=1)
        self.convs, self.norms = [], []
        for i in range(2):
            self.convs.append(keras.layers.Conv2D(self.filters, 3, padding="same",
                                                  name=f"conv{i + 1}", dtype=self.dtype_policy))
            self.norms.append(FusedBatchNormReLU(
                momentum=self.momentum, name=f"bn{i + 1}", dtype=self.dtype_policy))
        self.pool = keras.layers.MaxPooling2D(pool_size=2, strides=2, name="pool",
                                              dtype=self.dtype_policy)

    def build(self, input_shape):
        shape = tuple(input_shape)
        for conv, norm in zip(self.convs, self.norms, strict=True):
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
            norm.build(shape)
        self.pool.build(shape)

    def call(self, inputs, training=None):
        x = self._conv_batch_norm_relu(0, inputs, training)
        return self._conv_batch_norm_relu(1, x, training, then_pool=True)

    def _conv_batch_norm_relu(self, i, x, training, then_pool=False):
        """`relu(batch_norm(conv(x)))`, then the pooling if `then_pool`. In training the
        batch norm subtracts the batch mean, and with it the convolution's bias: the
        convolution runs without it, and the batch norm only adds it to its moving mean
        (`FusedBatchNormalization`: same outputs, and the bias gradient, identically zero,
        is not computed; 1.8% of TinySSD's bf16 step at 256x256). In bfloat16, the
        convolutions take their weight gradient from the AMX kernel where it applies
        (`kerasnotes.ops.conv3x3_amx`: 3 -> 16 channels or multiples of 16, a width that
        is a multiple of 16, and small feature maps)."""
        conv, norm = self.convs[i], self.norms[i]
        bias = None
        if training and norm.trainable and conv.use_bias:
            if uses_amx_weight_gradient(conv, x):
                x = conv3x3_same(x, conv.kernel)
            else:
                x = conv.convolution_op(x, ops.cast(conv.kernel, x.dtype))
            bias = conv.bias
        else:
            x = conv(x)
        if then_pool:
            return norm.call_then_pool(x, self.pool, training=training, bias=bias)
        return norm(x, training=training, bias=bias)

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for conv in self.convs:
            shape = conv.compute_output_shape(shape)
        return self.pool.compute_output_shape(shape)

    def get_config(self):
        config = super().get_config()
        config.update({"filters": self.filters, "momentum": self.momentum})
        return config
