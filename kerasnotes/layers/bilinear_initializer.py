"""Bilinear-interpolation initializer for transposed convolutions (FCN upsampling)."""

import keras
import numpy as np

from kerasnotes._checks import check_int


def bilinear_kernel(kernel_size, in_channels, out_channels):
    """The bilinear upsampling kernel of d2l's FCN, as a Keras `Conv2DTranspose` kernel.

    With `k = kernel_size`, `f = ceil(k / 2)` and `c = f - 1` (odd `k`) or `f - 0.5` (even
    `k`), the 2-D filter is

        filt[i, j] = (1 - |i - c| / f) * (1 - |j - c| / f)

    and channel `m` maps only to channel `m` (`weight[:, :, m, m] = filt`, zeros elsewhere).
    A `Conv2DTranspose` of stride `s`, kernel `2s` and padding `s/2` (Keras `"same"`) with
    this kernel computes bilinear interpolation with half-pixel centres (the
    `tf.image.resize` convention) away from the border.

    Args:
        kernel_size: `k`.
        in_channels, out_channels: channel counts (the diagonal is `min` of the two).

    Returns:
        float32 NumPy array `(k, k, out_channels, in_channels)` (Keras' transposed-conv
        layout).

    Example:

    >>> bilinear_kernel(4, 1, 1)[:, :, 0, 0][0]
    array([0.0625, 0.1875, 0.1875, 0.0625], dtype=float32)
    """
    kernel_size = check_int("bilinear_kernel", "kernel_size", kernel_size)
    in_channels = check_int("bilinear_kernel", "in_channels", in_channels)
    out_channels = check_int("bilinear_kernel", "out_channels", out_channels)
    factor = (kernel_size + 1) // 2
    center = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    og = np.arange(kernel_size, dtype="float64")
    line = 1.0 - np.abs(og - center) / factor
    filt = np.outer(line, line)
    weight = np.zeros((kernel_size, kernel_size, out_channels, in_channels), "float32")
    for m in range(min(in_channels, out_channels)):
        weight[:, :, m, m] = filt
    return weight


@keras.saving.register_keras_serializable(package="kerasnotes")
class BilinearInitializer(keras.initializers.Initializer):
    """Initializes a `Conv2DTranspose` kernel `(k, k, out, in)` to bilinear upsampling.

    See `bilinear_kernel` for the formula (d2l's `bilinear_kernel`). Deterministic: it has
    no seed.

    Example:

    >>> up = keras.layers.Conv2DTranspose(3, 4, strides=2, padding="same", use_bias=False,
    ...                                   kernel_initializer=BilinearInitializer())
    >>> up(np.ones((1, 4, 4, 3), "float32")).shape
    TensorShape([1, 8, 8, 3])
    """

    def __call__(self, shape, dtype=None):
        shape = tuple(int(d) for d in shape)
        if len(shape) != 4 or shape[0] != shape[1]:
            raise ValueError("BilinearInitializer: expects a square transposed-conv kernel "
                             f"shape (k, k, out_channels, in_channels); received {shape}")
        kernel = bilinear_kernel(shape[0], shape[3], shape[2])
        return keras.ops.convert_to_tensor(kernel, dtype=dtype or "float32")

    def get_config(self):
        return {}
