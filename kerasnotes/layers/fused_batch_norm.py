"""Batch normalization whose training step is one fused TensorFlow kernel (批量归一化)."""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="kerasnotes")
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization` computed by TensorFlow's fused kernel in training.

    The notes' batch normalization over a batch of images, per channel: with the batch
    mean `mu` and the (biased) batch variance `sigma^2` over batch, height and width,

        y = gamma * (x - mu) / sqrt(sigma^2 + eps) + beta
        moving_mean     <- momentum * moving_mean     + (1 - momentum) * mu
        moving_variance <- momentum * moving_variance + (1 - momentum) * sigma^2

    Keras 3's layer builds this from `moments` and elementwise ops (about ten kernels
    forward and more backward); here a training call is one `FusedBatchNormV3` and its
    gradient one `FusedBatchNormGradV3`, which makes TinySSD's training step faster on CPU
    (`benchmarks/ssd_speed.py --vs-pytorch`). Values, gradients and moving statistics equal Keras'
    layer (tests/layers/test_fused_batch_norm.py). The kernel returns the variance with
    Bessel's correction `n / (n - 1)`; it is undone so the moving variance is Keras'.

    Under a mixed policy (bfloat16 or float16 activations) the activations go to the
    kernel as they are: it computes the statistics in float32, as Keras' layer does after
    casting. Inference, masked inputs, `synchronized=True`, `renorm` and inputs that are
    not 4-D channels-last use Keras' own code. The config is Keras' (same arguments).

    Example:

    >>> layer = FusedBatchNormalization(momentum=0.9)
    >>> layer(np.ones((2, 4, 4, 3), "float32"), training=True).shape
    TensorShape([2, 4, 4, 3])
    """

    def _uses_fused_kernel(self, inputs, training, mask):
        return (bool(training) and self.trainable and mask is None and not self.renorm
                and not self.synchronized and len(inputs.shape) == 4
                and self.axis in (-1, 3))

    def call(self, inputs, training=None, mask=None, bias=None):
        """`bias`: an optional per-channel bias not yet added to `inputs` (that of the
        convolution before, left out of it); the result is that of `inputs + bias`."""
        if not self._uses_fused_kernel(inputs, training, mask):
            if bias is not None:
                inputs = inputs + tf.cast(bias, inputs.dtype)
            return super().call(inputs, training=training, mask=mask)
        return self._training_call(inputs, self._fused_batch_norm, bias)

    def _training_call(self, inputs, batch_norm, bias=None):
        """The training pass through `batch_norm(x, gamma, beta) -> (y, batch mean, batch
        variance with Bessel's correction)`, with the moving averages updated.

        With batch statistics a per-channel `bias` added to `x` is subtracted again with the
        batch mean: `y` is the same with or without it, and only the moving mean sees it
        (`moving_mean <- m * moving_mean + (1 - m) * (mu + bias)`). So it is never added to
        the activations; its gradient, identically zero, is given as zeros (not as no
        gradient, which optimizers warn about)."""
        x = tf.convert_to_tensor(inputs)
        if x.dtype not in (tf.float32, tf.bfloat16, tf.float16):
            x = tf.cast(x, tf.float32)
        channels = x.shape[-1]
        gamma = tf.cast(self.gamma, tf.float32) if self.scale else tf.ones([channels])
        beta = tf.cast(self.beta, tf.float32) if self.center else tf.zeros([channels])
        if bias is not None:
            bias = tf.cast(bias, tf.float32)
            beta += 0.0 * bias  # the bias's gradient: zeros
        y, mean, corrected_variance = batch_norm(x, gamma, beta)
        count = tf.cast(tf.reduce_prod(tf.shape(x)[:-1]), tf.float32)
        variance = tf.where(count > 1.0, corrected_variance * (count - 1.0) / count, 0.0)
        self.moving_mean.assign(self.moving_mean * self.momentum
                                + (mean if bias is None else mean + bias)
                                * (1.0 - self.momentum))
        self.moving_variance.assign(self.moving_variance * self.momentum
                                    + variance * (1.0 - self.momentum))
        return tf.cast(y, self.compute_dtype)

    def _fused_batch_norm(self, x, gamma, beta):
        """`(y, batch mean, batch variance with Bessel's correction)` of the fused kernel."""
        return tf.compat.v1.nn.fused_batch_norm(
            x, gamma, beta, epsilon=self.epsilon, data_format="NHWC", is_training=True)
