"""Builds the batch-norm + ReLU kernel (`batch_norm_relu.cc`: the TensorFlow custom ops
`BatchNormRelu` and `BatchNormReluGrad`) on first use into the ops cache, and loads it
(kerasnotes/ops/custom_op_build.py: the recipe and cache). `load_batch_norm_relu_kernel`
raises `KernelUnavailable` with a one-line reason when there is no compiler or the build
fails.
"""

import os

from kerasnotes.ops import custom_op_build
from kerasnotes.ops.custom_op_build import KernelUnavailable  # noqa: F401 - the build API

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "batch_norm_relu.cc")
LIBRARY_NAME = "batch_norm_relu.so"
_LOADED = {}


def library_path(tf_version=None):
    """Where the kernel's library for this TF version and source lives (built or not)."""
    return custom_op_build.library_path(SOURCE, LIBRARY_NAME, tf_version)


def load_batch_norm_relu_kernel():
    """The kernel's op module (`batch_norm_relu`, `batch_norm_relu_grad`), built on first use
    (~10 s).

    Raises:
        KernelUnavailable: no compiler, or the build or the load failed.

    Example:

    >>> ops = load_batch_norm_relu_kernel()
    >>> ops.batch_norm_relu_grad   # doctest: +ELLIPSIS
    <function ...>
    """
    return custom_op_build.load_custom_op(SOURCE, LIBRARY_NAME, _LOADED)
