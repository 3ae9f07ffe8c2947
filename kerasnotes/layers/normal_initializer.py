"""Normal initializer, the notes' MXNet default N(0, 1)."""

import random

import keras

from kerasnotes._checks import check_int, check_number


@keras.saving.register_keras_serializable(package="kerasnotes")
class RandomNormal(keras.initializers.Initializer):
    """Draws every weight independently from `N(mean, stddev^2)`.

    The notes' "MXNet default random initialization": every weight `~ N(0, 1)` and every
    bias ("const") 0 (use `"zeros"` for biases). d2l's from-scratch code uses `stddev=0.01`.

    Args:
        mean: mean of the distribution.
        stddev: standard deviation, `> 0` (the notes' default is 1).
        seed: integer seed; the same seed gives the same values on every call.
            `None` draws a seed once at construction.

    Example:

    >>> layer = keras.layers.Dense(3, kernel_initializer=RandomNormal(stddev=0.01, seed=0))
    >>> RandomNormal(seed=0)((2, 3)).shape
    TensorShape([2, 3])
    """

    def __init__(self, mean=0.0, stddev=1.0, seed=None):
        self.mean = check_number("RandomNormal", "mean", mean)
        self.stddev = check_number("RandomNormal", "stddev", stddev, exclusive_minimum=0)
        self.seed = check_int("RandomNormal", "seed", seed, minimum=None, allow_none=True)
        self._draw_seed = seed if seed is not None else random.randint(1, 2**31 - 1)

    def __call__(self, shape, dtype=None):
        return keras.random.normal(shape, mean=self.mean, stddev=self.stddev, dtype=dtype,
                                   seed=self._draw_seed)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}
