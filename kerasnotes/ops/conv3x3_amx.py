"""A 3x3 "same" convolution whose weight gradient runs on AMX.

The forward pass and the input gradient are TensorFlow's (oneDNN). The weight gradient

    dw[kh, kw, ci, co] = sum_{n, h, w} x[n, h + kh - 1, w + kw - 1, ci] dy[n, h, w, co]

comes from the `Conv3x3WeightGradient` kernel (kerasnotes/ops/conv_weight_gradient_kernel)
where it applies and measured faster than oneDNN's (benchmarks/RESULTS.md): bfloat16
inputs (a `mixed_bfloat16` policy), a CPU with AMX, a static height and width, and
- 3 input and 16 output channels, or multiples of 16 of both, with a width that is a
  multiple of 16 (TinySSD's down-sample blocks: 1.2-2x faster than oneDNN, which reaches
  160-630 GFLOP/s of this CPU's ~1,400 on the thinnest ones); or
- a multiple of 16 input channels, any output channels, at most `MAX_WIDE_PIXELS` pixels
  per image (the prediction layers and the smallest maps, where oneDNN's weight gradient
  costs up to a millisecond whatever the work).
The kernel accumulates in float32; the gradient takes the kernel's dtype (bfloat16 when a
layer under `mixed_bfloat16` reads its float32 variable, as TensorFlow's path rounds it
too). Everywhere else `uses_amx_weight_gradient` says no and the caller keeps its own
convolution.

Example:

>>> conv = keras.layers.Conv2D(16, 3, padding="same", dtype="mixed_bfloat16")
>>> if uses_amx_weight_gradient(conv, x):
...     y = conv3x3_same(x, conv.kernel)      # y = conv(x) without its bias
"""

import logging

import tensorflow as tf

_LOG = logging.getLogger(__name__)
_KERNEL = {}  # "ops": the loaded kernel module, or None when it is unavailable here
ENABLED = {"amx_weight_gradient": True}  # False: always TensorFlow's weight gradient
MAX_WIDTH = 4096  # the kernel's kMaxWidth
MAX_WIDE_PIXELS = 32 * 32  # where the kernel's general path measured faster than oneDNN's


def _kernel():
    """The kernel's op module if it builds and this CPU offers AMX, else None (logged
    once)."""
    if "ops" not in _KERNEL:
        from kerasnotes.ops.conv_weight_gradient_kernel import (
            KernelUnavailable,
            load_conv_weight_gradient_kernel,
        )
        try:
            ops = load_conv_weight_gradient_kernel()
        except KernelUnavailable as error:
            _LOG.warning("conv3x3_same: the C++ kernel is unavailable (%s); using "
                         "TensorFlow's Conv2DBackpropFilter", error)
            ops = None
        if ops is not None:
            with tf.init_scope():  # eagerly, also when first asked while tracing
                if not bool(ops.conv3x3_weight_gradient_available()):
                    _LOG.info("conv3x3_same: this CPU offers no AMX; using TensorFlow's "
                              "Conv2DBackpropFilter")
                    ops = None
        _KERNEL["ops"] = ops
    return _KERNEL["ops"]


def uses_amx_weight_gradient(conv, x):
    """Whether `conv3x3_same(x, conv.kernel)` can stand for `conv.convolution_op(x, kernel)`
    with the AMX weight gradient: a `keras.layers.Conv2D` with a 3x3 kernel, stride 1,
    "same" padding, no dilation or groups, channels last; `x` bfloat16 with a static height
    and width (at most `MAX_WIDTH` wide) and either 3 channels and 16 filters or multiples
    of 16 of both with a width that is a multiple of 16, or a multiple of 16 channels and
    at most `MAX_WIDE_PIXELS` pixels; the kernel available."""
    if not ENABLED["amx_weight_gradient"] or x.dtype != tf.bfloat16:
        return False
    shape = tuple(x.shape)
    if len(shape) != 4 or shape[1] is None or shape[2] is None or shape[2] > MAX_WIDTH:
        return False
    if (tuple(conv.kernel_size) != (3, 3) or tuple(conv.strides) != (1, 1)
            or conv.padding != "same" or tuple(conv.dilation_rate) != (1, 1)
            or conv.groups != 1 or conv.data_format != "channels_last"):
        return False
    channels, height, width = shape[-1], shape[1], shape[2]
    thin = width % 16 == 0 and ((channels == 3 and conv.filters == 16) or (
        channels > 0 and channels % 16 == 0 and conv.filters % 16 == 0))
    wide = channels > 0 and channels % 16 == 0 and height * width <= MAX_WIDE_PIXELS
    if not (thin or wide):
        return False
    return _kernel() is not None


def conv3x3_same(x, kernel):
    """`conv2d(x, cast(kernel, x.dtype), stride 1, "same")` with the AMX weight gradient.

    Args:
        x: bfloat16 `(N, H, W, C_in)` (see `uses_amx_weight_gradient`).
        kernel: the `(3, 3, C_in, C_out)` kernel (a variable or its value), cast to
            bfloat16 for the convolution.

    Returns:
        bfloat16 `(N, H, W, C_out)`; the gradient of `kernel` has the kernel's dtype.
    """
    ops = _kernel()
    if ops is None:
        raise RuntimeError("conv3x3_same: the AMX weight-gradient kernel is unavailable here; "
                           "check uses_amx_weight_gradient first")
    kernel = tf.convert_to_tensor(kernel)

    @tf.custom_gradient
    def convolution(x, kernel):
        low = tf.cast(kernel, x.dtype)
        y = tf.nn.conv2d(x, low, strides=1, padding="SAME")

        def gradient(dy):
            dy = tf.cast(dy, x.dtype)
            dx = tf.raw_ops.Conv2DBackpropInput(input_sizes=tf.shape(x), filter=low,
                                                out_backprop=dy, strides=[1, 1, 1, 1],
                                                padding="SAME")
            dw = ops.conv3x3_weight_gradient(x, dy)
            return dx, tf.cast(dw, kernel.dtype)

        return y, gradient

    return convolution(x, kernel)


def add_bias(y, bias):
    """`y + cast(bias, y.dtype)` over the last axis, whose bias gradient sums `dy` in
    float32 and rounds once to the bias's dtype (TF's sum of a bfloat16 `dy` rounds as it
    goes: several bfloat16 steps off over a few hundred terms).

    Example:

    >>> y = add_bias(conv3x3_same(x, conv.kernel), conv.bias)   # conv(x), with its bias
    """
    bias = tf.convert_to_tensor(bias)

    @tf.custom_gradient
    def biased(y, bias):
        def gradient(dy):
            axes = list(range(len(dy.shape) - 1))
            return dy, tf.cast(tf.reduce_sum(tf.cast(dy, tf.float32), axis=axes), bias.dtype)

        return y + tf.cast(bias, y.dtype), gradient

    return biased(y, bias)
