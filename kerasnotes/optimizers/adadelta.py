"""The AdaDelta algorithm."""

import keras
from keras import ops

from kerasnotes._checks import check_number
from kerasnotes.optimizers._utils import check_learning_rate, densify


@keras.saving.register_keras_serializable(package="kerasnotes")
class AdaDelta(keras.optimizers.Optimizer):
    """AdaDelta: RMSProp whose step size comes from the past updates themselves (section 6).

    Two accumulators per parameter, both zeros at the start: `s` averages the squared
    gradients and `delta_x` averages the squared updates `g'`:

        s_t       = rho * s_{t-1} + (1 - rho) * g_t * g_t
        g'_t      = sqrt((delta_x_{t-1} + epsilon) / (s_t + epsilon)) * g_t
        x_t       = x_{t-1} - eta_t * g'_t
        delta_x_t = rho * delta_x_{t-1} + (1 - rho) * g'_t * g'_t

    The notes' AdaDelta has no learning rate: that is `learning_rate=1.0`, the default.
    Another `eta` only scales the step on `x` (`delta_x` still averages `g'`), which is what
    `keras.optimizers.Adadelta(learning_rate=eta, rho=rho, epsilon=epsilon)` computes.
    The notes call `rho` gamma. A sparse gradient (`tf.IndexedSlices`) is made dense first:
    the formula decays both accumulators on every row, so the result equals the dense
    computation exactly. `weight_decay` (decoupled, from `keras.optimizers.Optimizer`) first
    applies `x <- x - eta_t * weight_decay * x`.

    Args:
        learning_rate: `eta`, a float >= 0 or a `LearningRateSchedule`. Defaults to 1.0
            (the notes' formula).
        rho: decay of both averages, in `[0, 1)`. Defaults to 0.9.
        epsilon: small constant > 0 in both square roots. Defaults to 1e-5.
        **kwargs: `keras.optimizers.Optimizer` arguments (`weight_decay`, `clipnorm`,
            `global_clipnorm`, `name`, ...).

    Example:

    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer=AdaDelta(rho=0.9), loss="mse")
    """

    def __init__(self, learning_rate=1.0, rho=0.9, epsilon=1e-5, **kwargs):
        learning_rate = check_learning_rate("AdaDelta", learning_rate)
        rho = check_number("AdaDelta", "rho", rho, minimum=0, exclusive_maximum=1)
        epsilon = check_number("AdaDelta", "epsilon", epsilon, exclusive_minimum=0)
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._accumulators = [
            self.add_variable_from_reference(variable, name="accumulator")
            for variable in var_list
        ]
        self._delta_accumulators = [
            self.add_variable_from_reference(variable, name="delta_accumulator")
            for variable in var_list
        ]

    def update_step(self, gradient, variable, learning_rate):
        eta = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(densify(gradient), variable.dtype)
        index = self._get_variable_index(variable)
        s = self._accumulators[index]
        delta_x = self._delta_accumulators[index]
        rho = self.rho
        # Both averages a_t = rho * a + (1 - rho) * y are written as a += (1 - rho) * (y - a):
        # the same value with one tensor op fewer.
        self.assign_add(s, ops.multiply(1.0 - rho, ops.subtract(ops.square(g), s)))
        g_prime = ops.multiply(
            ops.sqrt(ops.divide(ops.add(delta_x, self.epsilon), ops.add(s, self.epsilon))), g
        )
        self.assign_sub(variable, ops.multiply(eta, g_prime))
        self.assign_add(delta_x,
                        ops.multiply(1.0 - rho, ops.subtract(ops.square(g_prime), delta_x)))

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "epsilon": self.epsilon})
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        # Keras' Optimizer.from_config replaces a serialized learning-rate schedule inside the
        # dict it is given; work on a copy so that the caller's config is left unchanged.
        return super().from_config(dict(config), custom_objects=custom_objects)
