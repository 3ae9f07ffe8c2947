"""The fused batch-norm + ReLU C++ kernel, forward and gradient (TensorFlow custom ops),
built on first use."""

from kerasnotes.ops.batch_norm_relu_kernel.build import (
    KernelUnavailable,
    library_path,
    load_batch_norm_relu_kernel,
)
