"""Batch normalization written from the notes' formulas (批量归一化)."""

import keras
from keras import ops

from kerasnotes._checks import check_number


@keras.saving.register_keras_serializable(package="kerasnotes")
class BatchNormalization(keras.layers.Layer):
    """Batch normalization written from scratch (the notes' 批量归一化).

    Statistics are taken over every axis but the last (channels-last), so the layer covers
    both of the notes' cases: after a dense layer, inputs `(batch, features)` get one mean
    and variance per feature over the batch; after a convolution, inputs
    `(batch, height, width, channels)` get one per channel over the batch and all spatial
    positions ("此通道一批量内所有矩阵的所有元素"). Each feature/channel has its own scale
    `gamma` (拉伸) and offset `beta` (偏移). In training:

        mu_B      = mean(x)                        over all axes but the last
        sigma_B^2 = mean((x - mu_B)^2)             the biased (population, 总体) variance
        x_hat     = (x - mu_B) / sqrt(sigma_B^2 + epsilon)
        y         = gamma * x_hat + beta

    and the moving statistics used at inference are updated after each training call:

        moving_mean     = momentum * moving_mean     + (1 - momentum) * mu_B
        moving_variance = momentum * moving_variance + (1 - momentum) * sigma_B^2

    At inference (`training` false or `None`), `mu_B` and `sigma_B^2` are replaced by the
    moving statistics. As in `keras.layers.BatchNormalization`, a layer with
    `trainable=False` always uses the moving statistics (and leaves them unchanged), and the
    weights are created in the same order (`gamma, beta, moving_mean, moving_variance`) so
    `get_weights()` / `set_weights()` copy to and from it.

    Args:
        momentum: weight of the old value in the moving averages, in `[0, 1]`.
        epsilon: small positive constant added to the variance.
        gamma_initializer: initializer of `gamma` (default ones).
        beta_initializer: initializer of `beta` (default zeros).

    Call arguments:
        inputs: `(batch, ..., channels)`, rank >= 2 with a known last axis.
        training: whether to normalize with the batch statistics and update the moving ones.

    Returns:
        the same shape as `inputs`.

    Example:

    >>> layer = BatchNormalization()
    >>> layer(np.random.rand(4, 5, 5, 3).astype("float32"), training=True).shape
    TensorShape([4, 5, 5, 3])
    """

    def __init__(self, momentum=0.99, epsilon=1e-3, gamma_initializer="ones",
                 beta_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.momentum = check_number("BatchNormalization", "momentum", momentum, minimum=0,
                                     maximum=1)
        self.epsilon = check_number("BatchNormalization", "epsilon", epsilon,
                                    exclusive_minimum=0)
        self.gamma_initializer = keras.initializers.get(gamma_initializer)
        self.beta_initializer = keras.initializers.get(beta_initializer)

    def build(self, input_shape):
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(
                f"BatchNormalization '{self.name}' expects inputs (batch, ..., channels) of "
                f"rank >= 2 with a known last axis; received input shape {tuple(input_shape)}"
            )
        shape = (input_shape[-1],)
        self.gamma = self.add_weight(
            shape=shape, initializer=self.gamma_initializer, name="gamma", autocast=False
        )
        self.beta = self.add_weight(
            shape=shape, initializer=self.beta_initializer, name="beta", autocast=False
        )
        self.moving_mean = self.add_weight(
            shape=shape, initializer="zeros", name="moving_mean", trainable=False,
            autocast=False,
        )
        self.moving_variance = self.add_weight(
            shape=shape, initializer="ones", name="moving_variance", trainable=False,
            autocast=False,
        )
        self.input_spec = keras.layers.InputSpec(
            ndim=len(input_shape), axes={-1: input_shape[-1]}
        )

    def call(self, inputs, training=None):
        # Statistics in float32 at least (float16 overflows easily), as Keras does.
        dtype = keras.backend.result_type(inputs.dtype, "float32")
        x = ops.cast(inputs, dtype)
        axes = tuple(range(len(x.shape) - 1))
        if training and self.trainable:
            mean = ops.mean(x, axis=axes)
            variance = ops.mean(ops.square(x - mean), axis=axes)
            self.moving_mean.assign(
                self.momentum * self.moving_mean
                + (1.0 - self.momentum) * ops.cast(mean, self.moving_mean.dtype)
            )
            self.moving_variance.assign(
                self.momentum * self.moving_variance
                + (1.0 - self.momentum) * ops.cast(variance, self.moving_variance.dtype)
            )
        else:
            mean = ops.cast(self.moving_mean, dtype)
            variance = ops.cast(self.moving_variance, dtype)
        x_hat = (x - mean) / ops.sqrt(variance + self.epsilon)
        outputs = ops.cast(self.gamma, dtype) * x_hat + ops.cast(self.beta, dtype)
        return ops.cast(outputs, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "gamma_initializer": keras.initializers.serialize(self.gamma_initializer),
            "beta_initializer": keras.initializers.serialize(self.beta_initializer),
        })
        return config
