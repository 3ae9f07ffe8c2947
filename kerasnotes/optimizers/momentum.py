"""The momentum method (动量法)."""

import keras
from keras import ops

from kerasnotes._checks import check_number
from kerasnotes.optimizers._utils import check_learning_rate, densify


@keras.saving.register_keras_serializable(package="kerasnotes")
class Momentum(keras.optimizers.Optimizer):
    """Gradient descent with momentum, as the notes write it (section 6, 动量法).

    A velocity `v` per parameter (zeros at the start) accumulates the scaled gradients:

        v_t = gamma * v_{t-1} + eta_t * g_t
        x_t = x_{t-1} - v_t

    This is `keras.optimizers.SGD(momentum=gamma)` with the velocity's sign flipped.
    A sparse gradient (`tf.IndexedSlices`) is made dense first: the formula decays the
    velocity of every row, including rows that got no gradient, so the result equals the
    dense computation exactly. `weight_decay` (decoupled, from `keras.optimizers.Optimizer`)
    first applies `x <- x - eta_t * weight_decay * x`.

    Args:
        learning_rate: `eta`, a float >= 0 or a `LearningRateSchedule`. Defaults to 0.01.
        gamma: momentum factor in `[0, 1)`. Defaults to 0.9. `gamma=0` is plain SGD.
        **kwargs: `keras.optimizers.Optimizer` arguments (`weight_decay`, `clipnorm`,
            `global_clipnorm`, `name`, ...).

    Example:

    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer=Momentum(learning_rate=0.01, gamma=0.9), loss="mse")
    """

    def __init__(self, learning_rate=0.01, gamma=0.9, **kwargs):
        learning_rate = check_learning_rate("Momentum", learning_rate)
        gamma = check_number("Momentum", "gamma", gamma, minimum=0, exclusive_maximum=1)
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.gamma = gamma

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._velocities = [
            self.add_variable_from_reference(variable, name="velocity") for variable in var_list
        ]

    def update_step(self, gradient, variable, learning_rate):
        eta = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(densify(gradient), variable.dtype)
        v = self._velocities[self._get_variable_index(variable)]
        self.assign(v, ops.add(ops.multiply(self.gamma, v), ops.multiply(eta, g)))
        self.assign_sub(variable, v)

    def get_config(self):
        config = super().get_config()
        config.update({"gamma": self.gamma})
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        # Keras' Optimizer.from_config replaces a serialized learning-rate schedule inside the
        # dict it is given; work on a copy so that the caller's config is left unchanged.
        return super().from_config(dict(config), custom_objects=custom_objects)
