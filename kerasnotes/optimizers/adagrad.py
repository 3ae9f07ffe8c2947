"""The AdaGrad algorithm."""

import keras
import tensorflow as tf
from keras import ops

from kerasnotes._checks import check_number
from kerasnotes.optimizers._utils import check_learning_rate, sum_duplicate_indices


@keras.saving.register_keras_serializable(package="kerasnotes")
class AdaGrad(keras.optimizers.Optimizer):
    """AdaGrad: a per-parameter learning rate shrunk by the gradients seen so far (section 6).

    An accumulator `s` per parameter (zeros at the start) sums the squared gradients, and
    `epsilon` sits inside the square root, as the notes write it:

        s_t = s_{t-1} + g_t * g_t
        x_t = x_{t-1} - eta_t / sqrt(s_t + epsilon) * g_t

    This is `keras.optimizers.Adagrad(initial_accumulator_value=0.0)`. A sparse gradient
    (`tf.IndexedSlices`, e.g. from `keras.layers.Embedding`) stays sparse: repeated rows are
    summed first, then only the named rows of `s` and `x` change. Rows without gradient are
    left unchanged by the dense formula too, so the result equals the dense computation.
    `weight_decay` (decoupled, from `keras.optimizers.Optimizer`) first applies
    `x <- x - eta_t * weight_decay * x`.

    Args:
        learning_rate: `eta`, a float >= 0 or a `LearningRateSchedule`. Defaults to 0.01.
        epsilon: small constant > 0 inside the square root. Defaults to 1e-6.
        **kwargs: `keras.optimizers.Optimizer` arguments (`weight_decay`, `clipnorm`,
            `global_clipnorm`, `name`, ...).

    Example:

    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer=AdaGrad(learning_rate=0.1), loss="mse")
    """

    def __init__(self, learning_rate=0.01, epsilon=1e-6, **kwargs):
        learning_rate = check_learning_rate("AdaGrad", learning_rate)
        epsilon = check_number("AdaGrad", "epsilon", epsilon, exclusive_minimum=0)
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._accumulators = [
            self.add_variable_from_reference(variable, name="accumulator")
            for variable in var_list
        ]

    def update_step(self, gradient, variable, learning_rate):
        eta = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        s = self._accumulators[self._get_variable_index(variable)]
        if isinstance(g, tf.IndexedSlices):
            g = sum_duplicate_indices(g)
            self.assign_add(s, tf.IndexedSlices(
                ops.square(g.values), g.indices, g.dense_shape
            ))
            s_rows = ops.take(s, g.indices, axis=0)
            self.assign_sub(variable, tf.IndexedSlices(
                ops.divide(ops.multiply(eta, g.values), ops.sqrt(ops.add(s_rows, self.epsilon))),
                g.indices,
                g.dense_shape,
            ))
        else:
            self.assign_add(s, ops.square(g))
            self.assign_sub(
                variable, ops.divide(ops.multiply(eta, g), ops.sqrt(ops.add(s, self.epsilon)))
            )

    def get_config(self):
        config = super().get_config()
        config.update({"epsilon": self.epsilon})
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        # Keras' Optimizer.from_config replaces a serialized learning-rate schedule inside the
        # dict it is given; work on a copy so that the caller's config is left unchanged.
        return super().from_config(dict(config), custom_objects=custom_objects)
