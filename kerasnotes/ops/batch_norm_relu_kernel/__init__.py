"""The fused batch-norm + ReLU gradient C++ kernel (a TensorFlow custom op), built on first
use."""

from kerasnotes.ops.batch_norm_relu_kernel.build import (
    KernelUnavailable,
    library_path,
    load_batch_norm_relu_kernel,
)
