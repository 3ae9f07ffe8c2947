"""The RMSProp algorithm."""

import keras
from keras import ops

from kerasnotes._checks import check_number
from kerasnotes.optimizers._utils import check_learning_rate, densify


@keras.saving.register_keras_serializable(package="kerasnotes")
class RMSProp(keras.optimizers.Optimizer):
    """RMSProp: AdaGrad with an exponentially weighted average of squared gradients (section 6).

    The accumulator `s` (zeros at the start) forgets old gradients, which fixes AdaGrad's
    ever-shrinking learning rate; the step is AdaGrad's, `epsilon` inside the square root:

        s_t = gamma * s_{t-1} + (1 - gamma) * g_t * g_t
        x_t = x_{t-1} - eta_t / sqrt(s_t + epsilon) * g_t

    This is `keras.optimizers.RMSprop(rho=gamma, momentum=0.0, centered=False)`.
    A sparse gradient (`tf.IndexedSlices`) is made dense first: the formula decays `s` on
    every row, so the result equals the dense computation exactly. `weight_decay`
    (decoupled, from `keras.optimizers.Optimizer`) first applies
    `x <- x - eta_t * weight_decay * x`.

    Args:
        learning_rate: `eta`, a float >= 0 or a `LearningRateSchedule`. Defaults to 0.001.
        gamma: decay of the squared-gradient average, in `[0, 1)`. Defaults to 0.9.
        epsilon: small constant > 0 inside the square root. Defaults to 1e-6.
        **kwargs: `keras.optimizers.Optimizer` arguments (`weight_decay`, `clipnorm`,
            `global_clipnorm`, `name`, ...).

    Example:

    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer=RMSProp(learning_rate=0.01, gamma=0.9), loss="mse")
    """

    def __init__(self, learning_rate=0.001, gamma=0.9, epsilon=1e-6, **kwargs):
        learning_rate = check_learning_rate("RMSProp", learning_rate)
        gamma = check_number("RMSProp", "gamma", gamma, minimum=0, exclusive_maximum=1)
        epsilon = check_number("RMSProp", "epsilon", epsilon, exclusive_minimum=0)
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.gamma = gamma
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
        g = ops.cast(densify(gradient), variable.dtype)
        s = self._accumulators[self._get_variable_index(variable)]
        # s_t = gamma * s + (1 - gamma) * g * g, written as s += (1 - gamma) * (g * g - s):
        # the same value with one tensor op fewer.
        self.assign_add(s, ops.multiply(1.0 - self.gamma, ops.subtract(ops.square(g), s)))
        self.assign_sub(
            variable, ops.divide(ops.multiply(eta, g), ops.sqrt(ops.add(s, self.epsilon)))
        )

    def get_config(self):
        config = super().get_config()
        config.update({"gamma": self.gamma, "epsilon": self.epsilon})
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        # Keras' Optimizer.from_config replaces a serialized learning-rate schedule inside the
        # dict it is given; work on a copy so that the caller's config is left unchanged.
        return super().from_config(dict(config), custom_objects=custom_objects)
