"""The Adam algorithm."""

import keras
from keras import ops

from kerasnotes._checks import check_number
from kerasnotes.optimizers._utils import check_learning_rate, densify


@keras.saving.register_keras_serializable(package="kerasnotes")
class Adam(keras.optimizers.Optimizer):
    """Adam: momentum on the gradient plus RMSProp's scaling, with bias correction.

    Not in the notes' section 6 list, but its two averages are the notes' momentum and
    RMSProp accumulators written as exponentially weighted averages. Both start at zeros,
    so at step `t` (counted from 1) they are divided by `1 - beta**t`:

        m_t     = beta_1 * m_{t-1} + (1 - beta_1) * g_t
        v_t     = beta_2 * v_{t-1} + (1 - beta_2) * g_t * g_t
        m_hat_t = m_t / (1 - beta_1**t)
        v_hat_t = v_t / (1 - beta_2**t)
        x_t     = x_{t-1} - eta_t * m_hat_t / (sqrt(v_hat_t) + epsilon)

    `epsilon` is added to `sqrt(v_hat)` as in the paper's Algorithm 1 (Keras' `Adam` adds its
    epsilon to `sqrt(v)` instead; the two agree up to that tiny constant). A sparse gradient
    (`tf.IndexedSlices`) is made dense first: the formula decays `m` and `v` on every row,
    so the result equals the dense computation exactly. `weight_decay` (decoupled, from
    `keras.optimizers.Optimizer`) first applies `x <- x - eta_t * weight_decay * x`
    (AdamW-style).

    Args:
        learning_rate: `eta`, a float >= 0 or a `LearningRateSchedule`. Defaults to 0.001.
        beta_1: decay of the gradient average, in `[0, 1)`. Defaults to 0.9.
        beta_2: decay of the squared-gradient average, in `[0, 1)`. Defaults to 0.999.
        epsilon: small constant > 0 added to `sqrt(v_hat)`. Defaults to 1e-8.
        **kwargs: `keras.optimizers.Optimizer` arguments (`weight_decay`, `clipnorm`,
            `global_clipnorm`, `name`, ...).

    Example:

    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer=Adam(learning_rate=0.001), loss="mse")
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8, **kwargs):
        name = type(self).__name__  # subclasses (LazyAdam) name themselves in errors
        learning_rate = check_learning_rate(name, learning_rate)
        beta_1 = check_number(name, "beta_1", beta_1, minimum=0, exclusive_maximum=1)
        beta_2 = check_number(name, "beta_2", beta_2, minimum=0, exclusive_maximum=1)
        epsilon = check_number(name, "epsilon", epsilon, exclusive_minimum=0)
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums = [
            self.add_variable_from_reference(variable, name="momentum") for variable in var_list
        ]
        self._velocities = [
            self.add_variable_from_reference(variable, name="velocity") for variable in var_list
        ]

    def update_step(self, gradient, variable, learning_rate):
        eta = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(densify(gradient), variable.dtype)
        index = self._get_variable_index(variable)
        m = self._momentums[index]
        v = self._velocities[index]
        t = ops.cast(self.iterations + 1, variable.dtype)
        # m_t = beta_1 * m + (1 - beta_1) * g, written as m += (1 - beta_1) * (g - m): the
        # same value with one tensor op fewer (likewise for v).
        self.assign_add(m, ops.multiply(1.0 - self.beta_1, ops.subtract(g, m)))
        self.assign_add(v, ops.multiply(1.0 - self.beta_2, ops.subtract(ops.square(g), v)))
        # x -= eta * m_hat / (sqrt(v_hat) + epsilon), with m_hat = m / (1 - beta_1**t) and
        # v_hat = v / (1 - beta_2**t). Multiplying the fraction through by
        # sqrt(1 - beta_2**t) moves both corrections onto scalars:
        #     x -= alpha * m / (sqrt(v) + epsilon * sqrt(1 - beta_2**t)),
        #     alpha = eta * sqrt(1 - beta_2**t) / (1 - beta_1**t).
        correction_1 = 1.0 - ops.power(self.beta_1, t)
        root_correction_2 = ops.sqrt(1.0 - ops.power(self.beta_2, t))
        alpha = eta * root_correction_2 / correction_1
        epsilon_hat = self.epsilon * root_correction_2
        self.assign_sub(
            variable, ops.divide(ops.multiply(alpha, m), ops.add(ops.sqrt(v), epsilon_hat))
        )

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        # Keras' Optimizer.from_config replaces a serialized learning-rate schedule inside the
        # dict it is given; work on a copy so that the caller's config is left unchanged.
        return super().from_config(dict(config), custom_objects=custom_objects)
