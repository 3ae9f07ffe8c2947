"""Adam whose sparse updates touch only the rows that have a gradient."""

import keras
import tensorflow as tf
from keras import ops

from kerasnotes.optimizers._utils import sum_duplicate_indices
from kerasnotes.optimizers.adam import Adam


@keras.saving.register_keras_serializable(package="kerasnotes")
class LazyAdam(Adam):
    """Lazy Adam: Adam's update applied only to the rows named by a sparse gradient.

    For a dense gradient this is exactly `kerasnotes.optimizers.adam.Adam` (epsilon added
    to `sqrt(v_hat)`), with `t` the global step counted from 1:

        m_t     = beta_1 * m_{t-1} + (1 - beta_1) * g_t
        v_t     = beta_2 * v_{t-1} + (1 - beta_2) * g_t * g_t
        x_t     = x_{t-1} - eta_t * m_t / (1 - beta_1**t)
                          / (sqrt(v_t / (1 - beta_2**t)) + epsilon)

    For a sparse gradient (`tf.IndexedSlices`, e.g. from `keras.layers.Embedding`) the
    repeated rows are summed first, then the three lines above run on the named rows `r`
    only (gathered, updated and scattered back):

        m[r] <- beta_1 * m[r] + (1 - beta_1) * g[r]
        v[r] <- beta_2 * v[r] + (1 - beta_2) * g[r] * g[r]
        x[r] <- x[r] - eta_t * m_hat[r] / (sqrt(v_hat[r]) + epsilon)

    The bias correction still uses the global step `t`, as TF Addons' `LazyAdam` and
    PyTorch's `SparseAdam` do. By design this differs from dense Adam for a row absent from
    a step: dense Adam decays that row's `m` and `v` (and so still moves the row, by its
    remaining momentum), lazy Adam leaves the row, its `m` and its `v` unchanged. The cost
    of a step is then proportional to the rows in the batch instead of the whole table,
    which is what makes word2vec's large embedding tables fast to train.

    `weight_decay` (decoupled, from `keras.optimizers.Optimizer`) first applies
    `x <- x - eta_t * weight_decay * x` to every row (not lazily).

    Args:
        learning_rate: `eta`, a float >= 0 or a `LearningRateSchedule`. Defaults to 0.001.
        beta_1: decay of the gradient average, in `[0, 1)`. Defaults to 0.9.
        beta_2: decay of the squared-gradient average, in `[0, 1)`. Defaults to 0.999.
        epsilon: small constant > 0 added to `sqrt(v_hat)`. Defaults to 1e-8.
        **kwargs: `keras.optimizers.Optimizer` arguments (`weight_decay`, `clipnorm`,
            `global_clipnorm`, `name`, ...).

    Example:

    >>> model = keras.Sequential([keras.Input((4,), dtype="int32"),
    ...                           keras.layers.Embedding(1000, 8),
    ...                           keras.layers.GlobalAveragePooling1D(),
    ...                           keras.layers.Dense(1)])
    >>> model.compile(optimizer=LazyAdam(learning_rate=0.001), loss="mse")
    """

    def update_step(self, gradient, variable, learning_rate):
        if not isinstance(gradient, tf.IndexedSlices):
            return super().update_step(gradient, variable, learning_rate)
        eta = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        index = self._get_variable_index(variable)
        m = self._momentums[index]
        v = self._velocities[index]
        t = ops.cast(self.iterations + 1, variable.dtype)
        # x -= eta * m_hat / (sqrt(v_hat) + epsilon) is computed as
        #     x -= alpha * m / (sqrt(v) + epsilon * sqrt(1 - beta_2**t)),
        #     alpha = eta * sqrt(1 - beta_2**t) / (1 - beta_1**t),
        # (the fraction multiplied through by sqrt(1 - beta_2**t)), as in Adam.
        root_correction_2 = ops.sqrt(1.0 - ops.power(self.beta_2, t))
        alpha = eta * root_correction_2 / (1.0 - ops.power(self.beta_1, t))
        epsilon_hat = self.epsilon * root_correction_2
        g = sum_duplicate_indices(g)
        rows = g.indices
        m_rows = ops.take(m, rows, axis=0)
        v_rows = ops.take(v, rows, axis=0)
        m_rows = ops.add(m_rows, ops.multiply(1.0 - self.beta_1, ops.subtract(g.values, m_rows)))
        v_rows = ops.add(
            v_rows, ops.multiply(1.0 - self.beta_2, ops.subtract(ops.square(g.values), v_rows))
        )
        self.assign(m, tf.IndexedSlices(m_rows, rows, g.dense_shape))
        self.assign(v, tf.IndexedSlices(v_rows, rows, g.dense_shape))
        step = ops.divide(ops.multiply(alpha, m_rows), ops.add(ops.sqrt(v_rows), epsilon_hat))
        self.assign_sub(variable, tf.IndexedSlices(step, rows, g.dense_shape))
