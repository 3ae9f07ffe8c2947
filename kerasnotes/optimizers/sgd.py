"""Minibatch stochastic gradient descent, optionally with a decaying learning rate."""

import keras
import tensorflow as tf
from keras import ops

from kerasnotes.optimizers._utils import check_learning_rate


@keras.saving.register_keras_serializable(package="kerasnotes")
class SGD(keras.optimizers.Optimizer):
    """Minibatch stochastic gradient descent (notes, section 6).

    Each step uses the gradient `g_t` of the loss on a random minibatch:

        x_t = x_{t-1} - eta_t * g_t

    The notes add that the learning rate may shrink as the iterations go on. Pass a
    `keras.optimizers.schedules.LearningRateSchedule` as `learning_rate` for that; the step
    `t` it receives counts from 0. Two decays of the "Dive into Deep Learning" text are in
    Keras already:

    - `eta_t = eta * alpha**t`: `ExponentialDecay(eta, decay_steps=1, decay_rate=alpha)`
      (`staircase=True` with `decay_steps=k` decays once every `k` steps);
    - `eta_t = eta / (t + 1)`: `InverseTimeDecay(eta, decay_steps=1, decay_rate=1.0)`.

    Sparse gradients (`tf.IndexedSlices`, e.g. from `keras.layers.Embedding`) update only the
    rows they name, with repeated rows summed: the same result as the dense formula.
    `weight_decay` (decoupled, from `keras.optimizers.Optimizer`) first applies
    `x <- x - eta_t * weight_decay * x`.

    Args:
        learning_rate: `eta`, a float >= 0 or a `LearningRateSchedule`. Defaults to 0.01.
        **kwargs: `keras.optimizers.Optimizer` arguments (`weight_decay`, `clipnorm`,
            `global_clipnorm`, `name`, ...).

    Example:

    >>> schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 1, 0.95)
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer=SGD(learning_rate=schedule), loss="mse")
    """

    def __init__(self, learning_rate=0.01, **kwargs):
        learning_rate = check_learning_rate("SGD", learning_rate)
        super().__init__(learning_rate=learning_rate, **kwargs)

    def update_step(self, gradient, variable, learning_rate):
        eta = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        if isinstance(gradient, tf.IndexedSlices):
            # scatter_sub adds repeated rows up, as the dense gradient does.
            self.assign_sub(variable, tf.IndexedSlices(
                ops.multiply(eta, gradient.values), gradient.indices, gradient.dense_shape
            ))
        else:
            self.assign_sub(variable, ops.multiply(eta, gradient))

    @classmethod
    def from_config(cls, config, custom_objects=None):
        # Keras' Optimizer.from_config replaces a serialized learning-rate schedule inside the
        # dict it is given; work on a copy so that the caller's config is left unchanged.
        return super().from_config(dict(config), custom_objects=custom_objects)
