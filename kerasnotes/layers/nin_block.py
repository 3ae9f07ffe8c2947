"""The NiN block: one convolution followed by two 1x1 convolutions."""

import keras

from kerasnotes._checks import check_int


@keras.saving.register_keras_serializable(package="kerasnotes")
class NiNBlock(keras.layers.Layer):
    """Network-in-network block: a convolution, then two 1x1 convolutions, all with ReLU.

    The notes' NiN block: one convolution whose kernel size, stride and padding are chosen,
    then two convolutions with a (1, 1) kernel (stride 1, no padding); all three have the
    same number of output channels, ReLU after each, and no pooling:

        x <- relu(conv_kxk_stride_s_pad_p(x))
        x <- relu(conv1x1(x))
        y = relu(conv1x1(x))

    `padding` is the notes' (MXNet) integer padding: `padding` zeros on every side, so the
    output side is `floor((side + 2 * padding - kernel_size) / strides) + 1`. When that is
    exactly Keras' `"same"` (stride 1, `kernel_size == 2 * padding + 1`) or `"valid"`
    (`padding == 0`) padding, the convolution pads itself; otherwise a `ZeroPadding2D`
    pads symmetrically first.

    Args:
        filters: output channels of the three convolutions.
        kernel_size: kernel size of the first convolution.
        strides: stride of the first convolution.
        padding: zeros added on each side before the first convolution (>= 0).

    Call arguments:
        inputs: `(batch, height, width, channels)`.

    Returns:
        `(batch, out_height, out_width, filters)` with the output sizes above.

    Example:

    >>> block = NiNBlock(16, kernel_size=5, strides=1, padding=2)
    >>> block(np.zeros((2, 12, 12, 3), "float32")).shape
    TensorShape([2, 12, 12, 16])
    """

    def __init__(self, filters, kernel_size, strides=1, padding=0, **kwargs):
        super().__init__(**kwargs)
        self.filters = check_int("NiNBlock", "filters", filters)
        self.kernel_size = check_int("NiNBlock", "kernel_size", kernel_size)
        self.strides = check_int("NiNBlock", "strides", strides)
        self.padding = check_int("NiNBlock", "padding", padding, minimum=0)
        if self.padding == 0:
            conv_padding, self.pad = "valid", None
        elif self.strides == 1 and self.kernel_size == 2 * self.padding + 1:
            conv_padding, self.pad = "same", None
        else:
            conv_padding = "valid"
            self.pad = keras.layers.ZeroPadding2D(self.padding, name="pad",
                                                  dtype=self.dtype_policy)
        self.conv1 = keras.layers.Conv2D(
            self.filters, self.kernel_size, strides=self.strides, padding=conv_padding,
            activation="relu", name="conv1", dtype=self.dtype_policy)
        self.conv2 = keras.layers.Conv2D(self.filters, 1, activation="relu", name="conv2",
                                         dtype=self.dtype_policy)
        self.conv3 = keras.layers.Conv2D(self.filters, 1, activation="relu", name="conv3",
                                         dtype=self.dtype_policy)

    def _sublayers(self):
        return [layer for layer in (self.pad, self.conv1, self.conv2, self.conv3) if layer]

    def build(self, input_shape):
        shape = tuple(input_shape)
        for layer in self._sublayers():
            layer.build(shape)
            shape = layer.compute_output_shape(shape)

    def call(self, inputs):
        x = inputs
        for layer in self._sublayers():
            x = layer(x)
        return x

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self._sublayers():
            shape = layer.compute_output_shape(shape)
        return shape

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
        })
        return config
