"""Builds the word2vec C++ kernel (`word2vec_kernel.cc`, a TensorFlow custom op) on first use
into the ops cache, and loads it (kerasnotes/ops/custom_op_build.py: the recipe and cache).
"""

import os

from kerasnotes.ops import custom_op_build
from kerasnotes.ops.custom_op_build import (  # noqa: F401 - the kernel's build API
    KernelUnavailable,
    cache_key,
    compiler,
)

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "word2vec_kernel.cc")
LIBRARY_NAME = "word2vec_kernel.so"
_LOADED = {}


def library_path(tf_version=None):
    """Where the kernel's library for this TF version and source lives (built or not)."""
    return custom_op_build.library_path(SOURCE, LIBRARY_NAME, tf_version)


def build_library(path, cxx):
    """Compiles the kernel into `path` (under a file lock; a no-op if another process did)."""
    return custom_op_build.build_library(path, cxx, SOURCE)


def load_word2vec_kernel():
    """The kernel's op module (`word2_vec_train_sentences`, `word2_vec_train_examples`).

    Builds it on first use (about 6-20 s), then loads the cached library.

    Raises:
        KernelUnavailable: no compiler, or the build or the load failed.

    Example:

    >>> ops = load_word2vec_kernel()
    >>> ops.word2_vec_train_examples   # doctest: +ELLIPSIS
    <function ...>
    """
    return custom_op_build.load_custom_op(SOURCE, LIBRARY_NAME, _LOADED)
