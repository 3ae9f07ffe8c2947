"""A 2-D convolution layer written from the notes' cross-correlation (二维卷积层)."""

import keras
from keras import ops

from kerasnotes._checks import check_int, check_int_pair, invalid
from kerasnotes.ops.corr2d import output_size, padding_amounts, sliding_windows


def _conv_padding(layer_name, value):
    """`"valid"`, `"same"`, or a non-negative int / pair of ints (zeros on each side)."""
    if isinstance(value, str) and value.lower() in ("valid", "same"):
        return value.lower()
    try:
        return check_int_pair(layer_name, "padding", value, minimum=0)
    except ValueError:
        raise invalid(layer_name, "padding", value, "'valid', 'same', a non-negative integer "
                      "or a pair of non-negative integers") from None


@keras.saving.register_keras_serializable(package="kerasnotes")
class Conv2D(keras.layers.Layer):
    """2-D convolution layer written from scratch: zero padding, then multi-channel
    cross-correlation with a stride, plus a bias (the notes' 二维卷积层).

    Following the notes: the input is padded with zeros (填充), the kernel slides over it
    `strides` apart (步幅), and every output channel sums the cross-correlations of all
    input channels with its own kernels, plus a constant:

        Y[n, i, j, o] = b[o] + sum_{a < kh, b < kw, c < c_in}
                        X_pad[n, i * sh + a, j * sw + b, c] * K[a, b, c, o]

        out_h = floor((h + pad_top + pad_bottom - kh) / sh) + 1  (same for the width)

    With an odd kernel `k`, stride 1 and `padding=k // 2` the output keeps the input size.
    The kernel is stored as Keras stores it, `(kh, kw, c_in, c_out)` (the notes write it
    `(c_out, c_in, kh, kw)`; `ops.transpose(kernel, (3, 2, 0, 1))` gives that view), so
    `get_weights()` / `set_weights()` copy to and from `keras.layers.Conv2D`. The windows
    are gathered with `kerasnotes.ops.corr2d.sliding_windows` and contracted with the
    kernel in one `tensordot` (no built-in convolution op).

    Args:
        filters: number of output channels `c_out`.
        kernel_size: int or `(kh, kw)`.
        strides: int or `(sh, sw)`.
        padding: `"valid"` (none), `"same"` (output `ceil(size / s)`, the extra zero at the
            bottom/right when the total is odd, as Keras does), or an int / pair `(ph, pw)`
            of zeros added on *each* side (the notes' 填充).
        activation: activation name or callable applied to the output (`None`: identity).
        use_bias: whether to add a bias per output channel.
        kernel_initializer: initializer of the kernel.
        bias_initializer: initializer of the bias.

    Call arguments:
        inputs: `(batch, height, width, c_in)`.

    Returns:
        `(batch, out_h, out_w, filters)`.

    Example:

    >>> layer = Conv2D(8, 3, strides=2, padding=1)
    >>> layer(np.zeros((2, 9, 9, 3), "float32")).shape
    TensorShape([2, 5, 5, 8])
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.filters = check_int("Conv2D", "filters", filters)
        self.kernel_size = check_int_pair("Conv2D", "kernel_size", kernel_size)
        self.strides = check_int_pair("Conv2D", "strides", strides)
        self.padding = _conv_padding("Conv2D", padding)
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def _axis_padding(self, axis):
        return self.padding if isinstance(self.padding, str) else self.padding[axis]

    def build(self, input_shape):
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise ValueError(
                f"Conv2D '{self.name}' expects inputs (batch, height, width, channels) with "
                f"a known number of channels; received input shape {tuple(input_shape)}"
            )
        out_shape = self.compute_output_shape(input_shape)
        if any(d is not None and d < 1 for d in out_shape[1:3]):
            raise ValueError(
                f"Conv2D '{self.name}': kernel_size={self.kernel_size} with "
                f"padding={self.padding!r} does not fit in the input: received input shape "
                f"{tuple(input_shape)}, the output would be {tuple(out_shape)}"
            )
        in_channels = input_shape[-1]
        self.kernel = self.add_weight(
            shape=(*self.kernel_size, in_channels, self.filters),
            initializer=self.kernel_initializer,
            name="kernel",
        )
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(self.filters,), initializer=self.bias_initializer, name="bias"
            )
        else:
            self.bias = None
        self.input_spec = keras.layers.InputSpec(ndim=4, axes={-1: in_channels})

    def call(self, inputs):
        shape = ops.shape(inputs)
        pads = [
            padding_amounts(shape[1 + axis], self.kernel_size[axis], self.strides[axis],
                            self._axis_padding(axis))
            for axis in (0, 1)
        ]
        if self.padding != "valid":
            inputs = ops.pad(inputs, [(0, 0), pads[0], pads[1], (0, 0)])
        windows = sliding_windows(inputs, self.kernel_size, self.strides)
        # (batch, oh, ow, kh, kw, c_in) . (kh, kw, c_in, c_out) -> (batch, oh, ow, c_out)
        outputs = ops.tensordot(windows, self.kernel, axes=3)
        if self.use_bias:
            outputs = outputs + self.bias
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        out_h, out_w = (
            output_size(input_shape[1 + axis], self.kernel_size[axis], self.strides[axis],
                        self._axis_padding(axis))
            for axis in (0, 1)
        )
        return (input_shape[0], out_h, out_w, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        })
        return config
