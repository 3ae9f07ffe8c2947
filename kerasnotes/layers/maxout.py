"""Maxout units."""

import keras
from keras import ops

from kerasnotes._checks import check_int


@keras.saving.register_keras_serializable(package="kerasnotes")
class Maxout(keras.layers.Layer):
    """Maxout: an affine map to `units * pieces` values, then the max within each group.

    The notes: split the outputs into groups and let each unit output the largest value of its
    group. For unit `j` with `k = pieces` pieces:

        h_j(x) = max_{i = 1..k} (x W_{:, j, i} + b_{j, i})

    i.e. a dense layer with `units * pieces` outputs (kernel stored as
    `(input_dim, units, pieces)`) followed by a max over the last axis.

    Args:
        units: number of maxout units (outputs).
        pieces: number `k >= 1` of affine pieces per unit.
        kernel_initializer: initializer of the kernel.
        bias_initializer: initializer of the bias `(units, pieces)`.

    Call arguments:
        inputs: `(batch, ..., input_dim)`.

    Returns:
        `(batch, ..., units)`.

    Example:

    >>> Maxout(units=4, pieces=3)(np.zeros((2, 5), "float32")).shape
    TensorShape([2, 4])
    """

    def __init__(self, units, pieces, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.units = check_int("Maxout", "units", units)
        self.pieces = check_int("Maxout", "pieces", pieces)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"Maxout: the last input axis must be known; "
                             f"received input_shape={input_shape}")
        self.kernel = self.add_weight(shape=(input_dim, self.units, self.pieces), name="kernel",
                                      initializer=self.kernel_initializer)
        self.bias = self.add_weight(shape=(self.units, self.pieces), name="bias",
                                    initializer=self.bias_initializer)

    def call(self, inputs):
        pieces = ops.tensordot(inputs, self.kernel, axes=1) + self.bias
        return ops.max(pieces, axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update({
            "units": self.units,
            "pieces": self.pieces,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        })
        return config
