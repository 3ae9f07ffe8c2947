"""Inverted dropout from scratch."""

import keras
from keras import ops

from kerasnotes._checks import check_int, check_number


@keras.saving.register_keras_serializable(package="kerasnotes")
class Dropout(keras.layers.Layer):
    """Inverted dropout, written from the notes' rule.

    During training each element is zeroed with probability `p` and the others are scaled:

        h' = 0              with probability p
        h' = h / (1 - p)    with probability 1 - p

    so that `E[h'] = h`; at inference the layer is the identity. It computes the same thing as
    `keras.layers.Dropout(rate)`, with its own mask drawn from a
    `keras.random.SeedGenerator`.

    Args:
        rate: the drop probability `p`, in `[0, 1)`.
        seed: integer seed of the mask generator (`None`: unseeded).

    Call arguments:
        inputs: a tensor of any shape.
        training: whether to drop (`True`) or pass the inputs through (`False`/`None`).

    Returns:
        a tensor of the same shape.

    Example:

    >>> layer = Dropout(0.5, seed=0)
    >>> layer(np.ones((2, 4), "float32"), training=True)  # entries 0 or 2
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = check_number("Dropout", "rate", rate, minimum=0, exclusive_maximum=1)
        self.seed = check_int("Dropout", "seed", seed, minimum=None, allow_none=True)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True
        self.built = True

    def call(self, inputs, training=None):
        if not training or self.rate == 0.0:
            return inputs
        uniform = keras.random.uniform(ops.shape(inputs), seed=self.seed_generator,
                                       dtype=inputs.dtype)
        keep = ops.cast(uniform >= self.rate, inputs.dtype)
        return inputs * keep / (1.0 - self.rate)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config
