"""The AMX weight gradient of thin 3x3 convolutions (TensorFlow custom ops), built on first
use."""

from kerasnotes.ops.conv_weight_gradient_kernel.build import (
    KernelUnavailable,
    library_path,
    load_conv_weight_gradient_kernel,
)
