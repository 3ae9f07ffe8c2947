"""Inverted dropout from scratch."""

import numbers

import keras
from keras import ops


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
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate < 1:
            raise ValueError(f"Dropout: rate must be a number in [0, 1); received rate={rate}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"Dropout: seed must be an integer or None; received seed={seed}")
        self.rate = float(rate)
        self.seed = seed
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
