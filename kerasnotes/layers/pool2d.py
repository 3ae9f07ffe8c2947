"""A 2-D max / average pooling layer written from the notes' definition (池化层)."""

import keras
from keras import ops

from kerasnotes._checks import check_choice, check_int_pair, invalid
from kerasnotes.ops.corr2d import output_size, padding_amounts, sliding_windows

POOL_MODES = ("max", "avg")


@keras.saving.register_keras_serializable(package="kerasnotes")
class Pool2D(keras.layers.Layer):
    """2-D max or average pooling written from scratch (the notes' 池化层).

    A `pool_size` window slides over every channel separately, `strides` apart, and each
    output element is the maximum (`mode="max"`, 最大池化层) or the mean (`mode="avg"`,
    平均池化层) of the window:

        max: Y[n, i, j, c] = max_{a < ph, b < pw} X[n, i * sh + a, j * sw + b, c]
        avg: Y[n, i, j, c] = mean_{a < ph, b < pw} X[n, i * sh + a, j * sw + b, c]

    As the notes stress, the results of different input channels are *not* added: the
    output has as many channels as the input. `padding="same"` pads so the output size is
    `ceil(size / s)` (the extra element at the bottom/right, as Keras does), and, like
    `keras.layers.MaxPooling2D` / `AveragePooling2D`, the padded positions never count:
    max pooling pads with `-inf`, and average pooling divides each window's sum by the
    number of *real* input elements in it (not by `ph * pw`). Where several elements of a
    window share the maximum, the gradient is split evenly among them (Keras' max pooling
    gives it to one of them); with real-valued inputs ties are rare.

    Args:
        pool_size: int or `(ph, pw)`.
        strides: int or `(sh, sw)`; `None` (default) means `pool_size`, non-overlapping
            windows.
        padding: `"valid"` or `"same"`.
        mode: `"max"` or `"avg"`.

    Call arguments:
        inputs: `(batch, height, width, channels)`.

    Returns:
        `(batch, out_h, out_w, channels)`, `out = floor((size - p) / s) + 1` for
        `"valid"`, `ceil(size / s)` for `"same"`.

    Example:

    >>> Pool2D(2, mode="avg")(np.ones((2, 7, 7, 3), "float32")).shape
    TensorShape([2, 3, 3, 3])
    """

    def __init__(self, pool_size, strides=None, padding="valid", mode="max", **kwargs):
        super().__init__(**kwargs)
        self.pool_size = check_int_pair("Pool2D", "pool_size", pool_size)
        self.strides = (
            self.pool_size if strides is None
            else check_int_pair("Pool2D", "strides", strides)
        )
        if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
            raise invalid("Pool2D", "padding", padding, "'valid' or 'same'")
        self.padding = padding.lower()
        self.mode = check_choice("Pool2D", "mode", mode, POOL_MODES)

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(
                f"Pool2D '{self.name}' expects inputs (batch, height, width, channels); "
                f"received input shape {tuple(input_shape)}"
            )
        out_shape = self.compute_output_shape(input_shape)
        if any(d is not None and d < 1 for d in out_shape[1:3]):
            raise ValueError(
                f"Pool2D '{self.name}': pool_size={self.pool_size} does not fit in the "
                f"input: received input shape {tuple(input_shape)}, the output would be "
                f"{tuple(out_shape)}"
            )
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def call(self, inputs):
        if self.padding == "valid":
            windows = sliding_windows(inputs, self.pool_size, self.strides)
            if self.mode == "max":
                return ops.max(windows, axis=(3, 4))
            return ops.mean(windows, axis=(3, 4))

        shape = ops.shape(inputs)
        pads = [(0, 0)]
        pads += [
            padding_amounts(shape[1 + axis], self.pool_size[axis], self.strides[axis], "same")
            for axis in (0, 1)
        ]
        pads += [(0, 0)]
        if self.mode == "max":
            padded = ops.pad(inputs, pads, constant_values=float("-inf"))
            return ops.max(sliding_windows(padded, self.pool_size, self.strides), axis=(3, 4))
        # Average over the real elements only: window sums of the zero-padded input divided
        # by window sums of a zero-padded mask of ones (one image, one channel).
        sums = ops.sum(
            sliding_windows(ops.pad(inputs, pads), self.pool_size, self.strides), axis=(3, 4)
        )
        mask = ops.pad(ops.ones_like(inputs[:1, :, :, :1]), pads)
        counts = ops.sum(sliding_windows(mask, self.pool_size, self.strides), axis=(3, 4))
        return sums / counts

    def compute_output_shape(self, input_shape):
        out_h, out_w = (
            output_size(input_shape[1 + axis], self.pool_size[axis], self.strides[axis],
                        self.padding)
            for axis in (0, 1)
        )
        return (input_shape[0], out_h, out_w, input_shape[3])

    def get_config(self):
        config = super().get_config()
        config.update({
            "pool_size": self.pool_size,
            "strides": self.strides,
            "padding": self.padding,
            "mode": self.mode,
        })
        return config
