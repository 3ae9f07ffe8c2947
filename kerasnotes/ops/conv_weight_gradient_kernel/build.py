"""Builds the 3x3 convolution weight-gradient kernel (`conv3x3_weight_gradient.cc`: the
TensorFlow custom ops `Conv3x3WeightGradient` and `Conv3x3WeightGradientAvailable`) on first
use into the ops cache, and loads it (kerasnotes/ops/custom_op_build.py: the recipe and
cache). `load_conv_weight_gradient_kernel` raises `KernelUnavailable` with a one-line reason
when there is no compiler or the build fails.
"""

import os

from kerasnotes.ops import custom_op_build
from kerasnotes.ops.custom_op_build import KernelUnavailable  # noqa: F401 - the build API

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "conv3x3_weight_gradient.cc")
LIBRARY_NAME = "conv3x3_weight_gradient.so"
_LOADED = {}


def library_path(tf_version=None):
    """Where the kernel's library for this TF version and source lives (built or not)."""
    return custom_op_build.library_path(SOURCE, LIBRARY_NAME, tf_version)


def load_conv_weight_gradient_kernel():
    """The kernel's op module (`conv3x3_weight_gradient`,
    `conv3x3_weight_gradient_available`), built on first use (~10 s).

    Raises:
        KernelUnavailable: no compiler, or the build or the load failed.

    Example:

    >>> ops = load_conv_weight_gradient_kernel()
    >>> bool(ops.conv3x3_weight_gradient_available())   # AMX here?
    True
    """
    return custom_op_build.load_custom_op(SOURCE, LIBRARY_NAME, _LOADED)
