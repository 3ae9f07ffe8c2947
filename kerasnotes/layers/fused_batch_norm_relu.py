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


def _inv_std(x, corrected_variance, epsilon):
    """1 / sqrt(biased batch variance + epsilon), from the kernel's corrected variance."""
    count = tf.cast(tf.reduce_prod(tf.shape(x)[:-1]), tf.float32)
    variance = tf.where(count > 1.0, corrected_variance * (count - 1.0) / count, 0.0)
    return tf.math.rsqrt(variance + epsilon)


def fused_batch_norm_relu(x, gamma, beta, epsilon, ops):
    """`(relu(y), mean, corrected variance)` as `FusedBatchNormV3` in training then ReLU,
    channels last, in one `BatchNormRelu` op of the kernel module `ops`; the gradient is one
    `BatchNormReluGrad` op."""

    @tf.custom_gradient
    def forward(x, gamma, beta):
        y, mean, corrected_variance = ops.batch_norm_relu(x, gamma, beta, epsilon=epsilon)

        def gradient(dy, unused_dmean, unused_dvariance):
            inv_std = _inv_std(x, corrected_variance, epsilon)
            return ops.batch_norm_relu_grad(tf.cast(dy, x.dtype), x, gamma, beta, mean, inv_std)

        return (y, mean, corrected_variance), gradient

    return forward(x, gamma, beta)


def fused_batch_norm_relu_max_pool(x, gamma, beta, epsilon, ops):
    """`(max_pool_2x2(relu(y)), mean, corrected variance)` (2x2 window, stride 2, no padding)
    of a 4-D channels-last `x` in one `BatchNormReluMaxPool` op of the kernel module `ops`;
    the gradient is one `BatchNormReluMaxPoolGrad` op."""

    @tf.custom_gradient
    def forward(x, gamma, beta):
        p, mean, corrected_variance = ops.batch_norm_relu_max_pool(x, gamma, beta,
                                                                   epsilon=epsilon)

        def gradient(dp, unused_dmean, unused_dvariance):
            inv_std = _inv_std(x, corrected_variance, epsilon)
            return ops.batch_norm_relu_max_pool_grad(tf.cast(dp, x.dtype), x, gamma, beta,
                                                     mean, inv_std)

        return (p, mean, corrected_variance), gradient

    return forward(x, gamma, beta)


def is_max_pool_2x2(pool):
    """Whether `pool` is `keras.layers.MaxPooling2D(2)`: 2x2 windows, stride 2, no padding,
    channels last."""
    return (isinstance(pool, keras.layers.MaxPooling2D) and tuple(pool.pool_size) == (2, 2)
            and tuple(pool.strides) == (2, 2) and pool.padding == "valid"
            and pool.data_format == "channels_last")


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

    def call(self, inputs, training=None, mask=None, bias=None):
        y = super().call(inputs, training=training, mask=mask, bias=bias)
        if self._uses_fused_kernel(inputs, training, mask):
            return y  # `_fused_batch_norm` applied the ReLU
        return keras.activations.relu(y)

    def call_then_pool(self, inputs, pool, training=None, bias=None):
        """`pool(self(inputs, training=training))`; in training, when `pool` is
        `keras.layers.MaxPooling2D(2)` (`is_max_pool_2x2`), the batch norm, the ReLU and the
        pooling run as one C++ kernel, `BatchNormReluMaxPool`, whose gradient is one
        `BatchNormReluMaxPoolGrad`: the full-size ReLU output and its gradient are never
        written (TinySSD's down-sample blocks end this way; benchmarks/RESULTS.md).

        The pooling gradient goes to the first maximum of each window in row-major order, as
        TF's `MaxPoolGrad` does (compared as stored: in bfloat16 after rounding). Values,
        gradients and moving statistics equal the three layers one after the other
        (tests/layers/test_fused_batch_norm_relu.py). `bias` is as in `call`.
        """
        x = tf.convert_to_tensor(inputs)
        ops = _kernel() if x.dtype in (tf.float32, tf.bfloat16) else None
        if ops is None or not is_max_pool_2x2(pool) or not self._uses_fused_kernel(
                x, training, None):
            return pool(self(inputs, training=training, bias=bias))
        return self._training_call(x, lambda x, gamma, beta: fused_batch_norm_relu_max_pool(
            x, gamma, beta, self.epsilon, ops), bias)

    def _fused_batch_norm(self, x, gamma, beta):
        ops = _kernel() if x.dtype in (tf.float32, tf.bfloat16) else None
        if ops is None:
            y, mean, corrected_variance = super()._fused_batch_norm(x, gamma, beta)
            return tf.nn.relu(y), mean, corrected_variance
        return fused_batch_norm_relu(x, gamma, beta, self.epsilon, ops)
