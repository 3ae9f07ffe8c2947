"""Batch normalization followed by ReLU, with a fused gradient kernel (批量归一化 + ReLU)."""

import logging

import keras
import tensorflow as tf

from kerasnotes.layers.fused_batch_norm import FusedBatchNormalization

_LOG = logging.getLogger(__name__)
_KERNEL = {}  # "ops": the loaded kernel module, or None when it is unavailable here


def _kernel():
    """The `batch_norm_relu` kernel's op module, or None (logged once) when it cannot be
    built."""
    if "ops" not in _KERNEL:
        from kerasnotes.ops.batch_norm_relu_kernel import (
            KernelUnavailable,
            load_batch_norm_relu_kernel,
        )
        try:
            _KERNEL["ops"] = load_batch_norm_relu_kernel()
        except KernelUnavailable as error:
            _LOG.warning("FusedBatchNormReLU: the C++ kernel is unavailable (%s); using "
                         "TensorFlow's FusedBatchNormV3, Relu and their gradients", error)
            _KERNEL["ops"] = None
    return _KERNEL["ops"]


def fused_batch_norm_relu(x, gamma, beta, epsilon, ops):
    """`(relu(y), mean, corrected variance)` as `FusedBatchNormV3` in training then ReLU,
    channels last, in one `BatchNormRelu` op of the kernel module `ops`; the gradient is one
    `BatchNormReluGrad` op."""

    @tf.custom_gradient
    def forward(x, gamma, beta):
        y, mean, corrected_variance = ops.batch_norm_relu(x, gamma, beta, epsilon=epsilon)

        def gradient(dy, unused_dmean, unused_dvariance):
            count = tf.cast(tf.reduce_prod(tf.shape(x)[:-1]), tf.float32)
            variance = tf.where(count > 1.0, corrected_variance * (count - 1.0) / count, 0.0)
            inv_std = tf.math.rsqrt(variance + epsilon)
            return ops.batch_norm_relu_grad(tf.cast(dy, x.dtype), x, gamma, beta, mean, inv_std)

        return (y, mean, corrected_variance), gradient

    return forward(x, gamma, beta)


@keras.saving.register_keras_serializable(package="kerasnotes")
class FusedBatchNormReLU(FusedBatchNormalization):
    """`relu(FusedBatchNormalization(x))` in one layer, with fused C++ kernels.

    The notes' `BatchNorm` then `ReLU` (the pair in every convolution block of the SSD):

        y = max(0, gamma * (x - mu) / sqrt(sigma^2 + eps) + beta)

    with the batch statistics and moving averages of `FusedBatchNormalization` (same
    arguments and config, same weights). In training, on 4-D channels-last float32 or
    bfloat16 inputs, both passes are C++ custom ops (`kerasnotes/ops/batch_norm_relu_kernel`,
    built on first use): `BatchNormRelu` in place of `FusedBatchNormV3` + `Relu` (which TF
    fuses into one oneDNN kernel, 1.6x slower in bfloat16), and `BatchNormReluGrad` in place
    of `ReluGrad` + `FusedBatchNormGradV3` (TF fuses those on GPU only); the gradient
    recomputes the ReLU mask from `x` as it goes, so it never reads `y`. Together they make
    TinySSD's `mixed_bfloat16` training step faster (benchmarks/RESULTS.md). Without a
    compiler the layer logs one warning and uses TF's ops. Values, gradients and moving
    statistics equal `FusedBatchNormalization` followed by ReLU
    (tests/layers/test_fused_batch_norm_relu.py).

    Example:

    >>> layer = FusedBatchNormReLU(momentum=0.9)
    >>> y = layer(np.array([[[[1.0], [3.0]]]], "float32"), training=True)
    >>> np.round(np.array(y).ravel(), 3)
    array([0., 1.], dtype=float32)
    """

    def call(self, inputs, training=None, mask=None):
        y = super().call(inputs, training=training, mask=mask)
        if self._uses_fused_kernel(inputs, training, mask):
            return y  # `_fused_batch_norm` applied the ReLU
        return keras.activations.relu(y)

    def _fused_batch_norm(self, x, gamma, beta):
        ops = _kernel() if x.dtype in (tf.float32, tf.bfloat16) else None
        if ops is None:
            y, mean, corrected_variance = super()._fused_batch_norm(x, gamma, beta)
            return tf.nn.relu(y), mean, corrected_variance
        return fused_batch_norm_relu(x, gamma, beta, self.epsilon, ops)
