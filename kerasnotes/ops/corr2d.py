"""Two-dimensional cross-correlation (互相关运算), written from the notes' definition.

The notes: a 2-D kernel slides over the 2-D input; at every position the overlapping window
and the kernel are multiplied element-wise and summed, giving one element of the output.
For an input `X` of shape `(h, w)` and a kernel `K` of shape `(kh, kw)`:

    Y[i, j] = sum_{a < kh, b < kw} X[i + a, j + b] * K[a, b],   Y: (h - kh + 1, w - kw + 1)

With several input channels (`X: (c_i, h, w)`, `K: (c_i, kh, kw)`) each channel is
cross-correlated with its own kernel and the results are added; with `c_o` output channels
the kernel is `(c_o, c_i, kh, kw)` and each of its `c_o` slices gives one output channel.
The functions here keep the notes' channels-first layout for the kernel and input.

Everything is built on `sliding_windows`, which gathers the window under every output
position with one strided slice per *kernel position* (kh * kw slices, never a loop over
output pixels); the sums are then one `tensordot`. It is also what the from-scratch
`Conv2D` and `Pool2D` layers use, together with `padding_amounts` and `output_size`,
which state the notes' padding and stride rules:

    padding p on each side, stride s:  out = floor((size + 2p - k) / s) + 1

All functions are differentiable. The gradient of `sliding_windows` is written out
(`_scatter_windows`: each input element receives the sum of the gradients of the window
elements it was copied to, via zero padding), because TensorFlow's gradients of strided
slices are several times slower on CPU.
"""

import keras
from keras import ops

from kerasnotes._checks import check_int_pair


def _is_static(value):
    return isinstance(value, int)


def output_size(size, window, stride=1, padding="valid"):
    """Output length along one spatial axis.

    Args:
        size: input length (an int, or `None` when unknown).
        window: kernel / pooling window length `k`.
        stride: step `s` between two windows.
        padding: `"valid"` (no padding: `floor((size - k) / s) + 1`), `"same"` (TensorFlow's
            rule: `ceil(size / s)`), or an int `p` of zeros added on each side
            (`floor((size + 2p - k) / s) + 1`).

    Returns:
        the output length, or `None` when `size` is `None`.
    """
    if size is None:
        return None
    if padding == "same":
        return (size + stride - 1) // stride
    pad = 0 if padding == "valid" else padding
    return (size + 2 * pad - window) // stride + 1


def padding_amounts(size, window, stride=1, padding="valid"):
    """Zeros `(before, after)` added along one spatial axis.

    `"valid"` adds none; an int `p` adds `p` on each side (the notes: with an odd kernel `k`
    and stride 1, `p = floor(k / 2)` keeps the size); `"same"` adds
    `max((ceil(size / s) - 1) * s + k - size, 0)` zeros, the smaller half before and the
    larger half after (TensorFlow's and Keras' rule). `size` may be a dynamic scalar tensor
    for `"same"`.
    """
    if padding == "valid":
        return 0, 0
    if padding != "same":
        return padding, padding
    out = (size + stride - 1) // stride
    total = (out - 1) * stride + window - size
    total = max(total, 0) if _is_static(total) else ops.maximum(total, 0)
    before = total // 2
    return before, total - before


def sliding_windows(inputs, window_size, strides=(1, 1)):
    """All `window_size` windows of a channels-last batch, `strides` apart.

    Args:
        inputs: `(batch, height, width, channels)`; height and width may be unknown.
        window_size: `(kh, kw)` positive ints.
        strides: `(sh, sw)` positive ints.

    Returns:
        `(batch, out_h, out_w, kh, kw, channels)` with
        `out = floor((size - k) / s) + 1`; element `[n, i, j, a, b, c]` is
        `inputs[n, i * sh + a, j * sw + b, c]`.
    """
    kh, kw = check_int_pair("sliding_windows", "window_size", window_size, allow_single=False)
    sh, sw = check_int_pair("sliding_windows", "strides", strides, allow_single=False)
    inputs = ops.convert_to_tensor(inputs)
    if len(inputs.shape) != 4:
        raise ValueError(
            "sliding_windows: inputs must be (batch, height, width, channels); received "
            f"shape {tuple(inputs.shape)}"
        )
    height, width = inputs.shape[1], inputs.shape[2]
    if (height is not None and height < kh) or (width is not None and width < kw):
        raise ValueError(
            f"sliding_windows: window {(kh, kw)} is larger than the input's spatial size "
            f"{(height, width)} (input shape {tuple(inputs.shape)})"
        )

    @ops.custom_gradient
    def gather(x):
        rows = []
        for a in range(kh):
            # Rows a, a + sh, ... up to the last window's row a: the end index counts from
            # the end, so unknown heights work too.
            row_end = a - kh + 1 or None
            columns = []
            for b in range(kw):
                col_end = b - kw + 1 or None
                columns.append(x[:, a:row_end:sh, b:col_end:sw, :])
            rows.append(ops.stack(columns, axis=3))
        windows = ops.stack(rows, axis=3)

        def grad(*args, upstream=None):
            if upstream is None:
                (upstream,) = args
            return _scatter_windows(upstream, ops.shape(x), sh, sw)

        return windows, grad

    return gather(inputs)


def _dilate(grad, axis, stride):
    """Inserts `stride - 1` zeros between consecutive entries along `axis` (1 or 2)."""
    if stride == 1:
        return grad
    shape = ops.shape(grad)
    grad = ops.expand_dims(grad, axis + 1)
    pads = [(0, 0)] * len(grad.shape)
    pads[axis + 1] = (0, stride - 1)
    grad = ops.pad(grad, pads)
    new_shape = list(shape)
    new_shape[axis] = shape[axis] * stride
    grad = ops.reshape(grad, new_shape)
    # Drop the zeros after the last window: (out - 1) * stride + 1 entries remain.
    return grad[:, : 1 - stride] if axis == 1 else grad[:, :, : 1 - stride]


def _scatter_windows(grad, input_shape, sh, sw):
    """The gradient of `sliding_windows`: every input element receives the sum of the
    gradients of all the window elements it was copied to.

    Written with zero padding (one padded copy per kernel position, then a sum): much faster
    on CPU than the gradients of the strided slices TensorFlow would otherwise use.
    """
    grad = _dilate(_dilate(grad, 1, sh), 2, sw)  # (batch, span_h, span_w, kh, kw, c)
    kh, kw = grad.shape[3], grad.shape[4]
    shape = ops.shape(grad)
    span_h, span_w = shape[1], shape[2]
    height, width = input_shape[1], input_shape[2]
    total = None
    for a in range(kh):
        for b in range(kw):
            part = ops.pad(
                grad[:, :, :, a, b, :],
                [(0, 0), (a, height - span_h - a), (b, width - span_w - b), (0, 0)],
            )
            total = part if total is None else total + part
    return total


def _float_tensors(x, k):
    x = ops.convert_to_tensor(x)
    k = ops.convert_to_tensor(k)
    dtype = keras.backend.result_type(x.dtype, k.dtype)
    if "float" not in dtype:
        dtype = keras.backend.floatx()
    return ops.cast(x, dtype), ops.cast(k, dtype)


def _check_fits(name, x_shape, k_shape):
    h, w = x_shape[-2:]
    kh, kw = k_shape[-2:]
    if (h is not None and h < kh) or (w is not None and w < kw):
        raise ValueError(
            f"{name}: the kernel {tuple(k_shape)} does not fit in the input "
            f"{tuple(x_shape)}: the output would be empty"
        )


def corr2d(x, k):
    """2-D cross-correlation of one matrix with one kernel (the notes' 互相关运算).

    `Y[i, j] = sum_{a, b} X[i + a, j + b] * K[a, b]`.

    Args:
        x: input `(h, w)`.
        k: kernel `(kh, kw)`.

    Returns:
        `(h - kh + 1, w - kw + 1)`, float (integer inputs give `floatx()`).

    Example:

    >>> x = np.arange(9, dtype="float32").reshape(3, 3)
    >>> corr2d(x, np.array([[0.0, 1.0], [2.0, 3.0]], "float32")).numpy()
    array([[19., 25.],
           [37., 43.]], dtype=float32)
    """
    x, k = _float_tensors(x, k)
    if len(x.shape) != 2 or len(k.shape) != 2:
        raise ValueError(
            "corr2d: x must be (h, w) and k (kh, kw); received shapes "
            f"{tuple(x.shape)} and {tuple(k.shape)}"
        )
    _check_fits("corr2d", x.shape, k.shape)
    windows = sliding_windows(x[None, :, :, None], k.shape)  # (1, oh, ow, kh, kw, 1)
    return ops.tensordot(windows[0, :, :, :, :, 0], k, axes=2)


def corr2d_multi_in(x, k):
    """Cross-correlation with several input channels, summed over the channels.

    `Y[i, j] = sum_c sum_{a, b} X[c, i + a, j + b] * K[c, a, b]`.

    Args:
        x: input `(c_i, h, w)`.
        k: kernel `(c_i, kh, kw)`: one 2-D kernel per input channel.

    Returns:
        `(h - kh + 1, w - kw + 1)`.

    Example:

    >>> x = np.stack([np.arange(9.0).reshape(3, 3), np.arange(1.0, 10.0).reshape(3, 3)])
    >>> k = np.stack([[[0.0, 1.0], [2.0, 3.0]], [[1.0, 2.0], [3.0, 4.0]]])
    >>> corr2d_multi_in(x, k).numpy()
    array([[ 56.,  72.],
           [104., 120.]])
    """
    x, k = _float_tensors(x, k)
    if len(x.shape) != 3 or len(k.shape) != 3 or x.shape[0] != k.shape[0]:
        raise ValueError(
            "corr2d_multi_in: x must be (c_i, h, w) and k (c_i, kh, kw) with the same c_i; "
            f"received shapes {tuple(x.shape)} and {tuple(k.shape)}"
        )
    _check_fits("corr2d_multi_in", x.shape, k.shape)
    windows = sliding_windows(ops.transpose(x, (1, 2, 0))[None], k.shape[1:])
    # windows[0]: (oh, ow, kh, kw, c_i) . kernel (kh, kw, c_i) -> (oh, ow)
    return ops.tensordot(windows[0], ops.transpose(k, (1, 2, 0)), axes=3)


def corr2d_multi_in_out(x, k):
    """Cross-correlation with `c_i` input and `c_o` output channels.

    The kernel has the notes' shape `(c_o, c_i, kh, kw)`; output channel `o` is
    `corr2d_multi_in(x, k[o])`.

    Args:
        x: input `(c_i, h, w)`.
        k: kernel `(c_o, c_i, kh, kw)`.

    Returns:
        `(c_o, h - kh + 1, w - kw + 1)`.

    Example:

    >>> x = np.stack([np.arange(9.0).reshape(3, 3), np.arange(1.0, 10.0).reshape(3, 3)])
    >>> k = np.stack([[[0.0, 1.0], [2.0, 3.0]], [[1.0, 2.0], [3.0, 4.0]]])
    >>> corr2d_multi_in_out(x, np.stack([k, k + 1, k + 2])).shape
    TensorShape([3, 2, 2])
    """
    x, k = _float_tensors(x, k)
    if len(x.shape) != 3 or len(k.shape) != 4 or x.shape[0] != k.shape[1]:
        raise ValueError(
            "corr2d_multi_in_out: x must be (c_i, h, w) and k (c_o, c_i, kh, kw) with the "
            f"same c_i; received shapes {tuple(x.shape)} and {tuple(k.shape)}"
        )
    _check_fits("corr2d_multi_in_out", x.shape, k.shape)
    windows = sliding_windows(ops.transpose(x, (1, 2, 0))[None], k.shape[2:])
    # (oh, ow, kh, kw, c_i) . (kh, kw, c_i, c_o) -> (oh, ow, c_o)
    y = ops.tensordot(windows[0], ops.transpose(k, (2, 3, 1, 0)), axes=3)
    return ops.transpose(y, (2, 0, 1))

