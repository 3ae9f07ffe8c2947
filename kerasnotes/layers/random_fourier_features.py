"""Random Fourier features: an explicit feature map approximating the RBF kernel."""

import math

import keras
from keras import ops

from kerasnotes._checks import check_int, check_number


@keras.saving.register_keras_serializable(package="kerasnotes")
class RandomFourierFeatures(keras.layers.Layer):
    """Random Fourier features (Rahimi & Recht) for the RBF kernel `exp(-gamma |x - y|^2)`.

    The notes' kernel trick computes `k(x_i, x_j) = <phi(x_i), phi(x_j)>` without forming
    `phi`. The RBF kernel's `phi` is infinite-dimensional; this layer draws a finite random one:

        phi(x) = sqrt(2 / D) * cos(x W + b),  W_{ij} ~ N(0, 2 gamma),  b_j ~ U(0, 2 pi)

    so that `E[<phi(x), phi(y)>] = exp(-gamma |x - y|^2)`, with a standard deviation of at most
    `1 / sqrt(D)`. A linear model on `phi(x)` then approximates a kernel machine.
    `W` and `b` are drawn once in `build` and are not trained.

    Args:
        output_dim: number of features `D`.
        gamma: RBF kernel parameter `> 0` (`gamma = 1 / (2 sigma^2)`).
        seed: integer seed of `W` and `b` (`None`: unseeded).

    Call arguments:
        inputs: `(batch, ..., input_dim)`.

    Returns:
        `(batch, ..., output_dim)`.

    Example:

    >>> rff = RandomFourierFeatures(output_dim=4096, gamma=0.5, seed=0)
    >>> z = rff(np.array([[0.0, 0.0], [1.0, 0.0]], "float32"))
    >>> float(ops.sum(z[0] * z[1]))  # about exp(-0.5) = 0.61
    """

    def __init__(self, output_dim, gamma=1.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.output_dim = check_int("RandomFourierFeatures", "output_dim", output_dim)
        self.gamma = check_number("RandomFourierFeatures", "gamma", gamma, exclusive_minimum=0)
        self.seed = check_int("RandomFourierFeatures", "seed", seed, minimum=None,
                              allow_none=True)

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"RandomFourierFeatures: the last input axis must be known; "
                             f"received input_shape={input_shape}")
        bias_seed = None if self.seed is None else self.seed + 1
        self.kernel = self.add_weight(
            shape=(input_dim, self.output_dim), name="kernel", trainable=False,
            initializer=keras.initializers.RandomNormal(stddev=math.sqrt(2.0 * self.gamma),
                                                        seed=self.seed))
        self.bias = self.add_weight(
            shape=(self.output_dim,), name="bias", trainable=False,
            initializer=keras.initializers.RandomUniform(0.0, 2.0 * math.pi, seed=bias_seed))

    def call(self, inputs):
        projected = ops.tensordot(inputs, self.kernel, axes=1) + self.bias
        return math.sqrt(2.0 / self.output_dim) * ops.cos(projected)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.output_dim,)

    def get_config(self):
        config = super().get_config()
        config.update({"output_dim": self.output_dim, "gamma": self.gamma, "seed": self.seed})
        return config
