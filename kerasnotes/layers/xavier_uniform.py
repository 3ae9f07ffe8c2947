"""Xavier (Glorot) uniform initializer, from the notes' formula."""

import math
import random

import keras

from kerasnotes._checks import check_int


def compute_fans(shape):
    """`(fan_in, fan_out)` of a weight shape.

    Dense kernels `(a, b)` give `(a, b)`. Convolution kernels
    `(k_1, ..., k_n, in_channels, out_channels)` count every position of the receptive field:
    `fan_in = in_channels * prod(k)`, `fan_out = out_channels * prod(k)`. A vector `(n,)` gives
    `(n, n)`, a scalar `(1, 1)`.
    """
    shape = tuple(int(d) for d in shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


@keras.saving.register_keras_serializable(package="kerasnotes")
class XavierUniform(keras.initializers.Initializer):
    """Xavier uniform initialization `U(-sqrt(6 / (a + b)), sqrt(6 / (a + b)))`.

    The notes' rule for a fully connected layer with `a` inputs and `b` outputs; for a
    convolution kernel `a` and `b` are the fans counting the receptive field (see
    `compute_fans`). The variance `limit^2 / 3 = 2 / (a + b)` keeps activations and gradients at
    a similar scale across layers. Same distribution as `keras.initializers.GlorotUniform`.

    Args:
        seed: integer seed; the same seed gives the same values on every call.
            `None` draws a seed once at construction.

    Example:

    >>> layer = keras.layers.Dense(3, kernel_initializer=XavierUniform(seed=0))
    >>> XavierUniform.limit((2, 4))  # sqrt(6 / 6) = 1
    1.0
    """

    def __init__(self, seed=None):
        self.seed = check_int("XavierUniform", "seed", seed, minimum=None, allow_none=True)
        self._draw_seed = seed if seed is not None else random.randint(1, 2**31 - 1)

    @staticmethod
    def limit(shape):
        """The bound `sqrt(6 / (fan_in + fan_out))` for a weight of this shape."""
        fan_in, fan_out = compute_fans(shape)
        return math.sqrt(6.0 / (fan_in + fan_out))

    def __call__(self, shape, dtype=None):
        limit = self.limit(shape)
        return keras.random.uniform(shape, minval=-limit, maxval=limit, dtype=dtype,
                                    seed=self._draw_seed)

    def get_config(self):
        return {"seed": self.seed}
