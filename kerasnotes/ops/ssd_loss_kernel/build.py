"""Builds the SSD loss kernel (`ssd_loss.cc`: the TensorFlow custom op `SsdLossWithGradient`)
on first use into the ops cache, and loads it (kerasnotes/ops/custom_op_build.py: the recipe
and cache). `load_ssd_loss_kernel` raises `KernelUnavailable` with a one-line reason when
there is no compiler or the build fails.
"""

import os

from kerasnotes.ops import custom_op_build
from kerasnotes.ops.custom_op_build import KernelUnavailable  # noqa: F401 - the build API

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ssd_loss.cc")
LIBRARY_NAME = "ssd_loss.so"
_LOADED = {}


def library_path(tf_version=None):
    """Where the kernel's library for this TF version and source lives (built or not)."""
    return custom_op_build.library_path(SOURCE, LIBRARY_NAME, tf_version)


def load_ssd_loss_kernel():
    """The kernel's op module (`ssd_loss_with_gradient`), built on first use (~10 s).

    Raises:
        KernelUnavailable: no compiler, or the build or the load failed.

    Example:

    >>> ops = load_ssd_loss_kernel()
    >>> ops.ssd_loss_with_gradient   # doctest: +ELLIPSIS
    <function ...>
    """
    return custom_op_build.load_custom_op(SOURCE, LIBRARY_NAME, _LOADED)
