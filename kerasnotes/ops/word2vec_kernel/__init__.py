"""The word2vec C++ kernel (a TensorFlow custom op), built on first use."""

from kerasnotes.ops.word2vec_kernel.build import (
    KernelUnavailable,
    cache_key,
    library_path,
    load_word2vec_kernel,
)
