"""The SSD loss with its gradient in one C++ kernel (a TensorFlow custom op), built on first
use."""

from kerasnotes.ops.ssd_loss_kernel.build import (
    KernelUnavailable,
    library_path,
    load_ssd_loss_kernel,
)
