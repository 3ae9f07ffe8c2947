"""Exponentially weighted moving average over a sequence."""

from keras import ops

from kerasnotes._checks import check_number


def exponential_moving_average(x, gamma, initial=None):
    """The notes' exponentially weighted moving average along axis 0.

        y_t = gamma * y_{t-1} + (1 - gamma) * x_t,    t = 1, ..., T

    starting from `y_0 = initial` (zeros by default, as the momentum and Adam states start).
    Computed with `keras.ops.scan`.

    Args:
        x: the sequence `(T, ...)`, time first.
        gamma: the decay `gamma` in `[0, 1]`; `y_t` averages roughly the last `1 / (1 - gamma)`
            steps.
        initial: `y_0`, shape `x.shape[1:]`; `None` for zeros.

    Returns:
        `y_1, ..., y_T`, same shape as `x`.

    Example:

    >>> exponential_moving_average(np.ones((3,), "float32"), gamma=0.5)  # [0.5, 0.75, 0.875]
    """
    gamma = check_number("exponential_moving_average", "gamma", gamma, minimum=0, maximum=1)
    x = ops.convert_to_tensor(x)
    if len(x.shape) == 0:
        raise ValueError("exponential_moving_average: x must have a time axis (rank >= 1); "
                         "received a scalar")
    if initial is None:
        initial = ops.zeros_like(x[0])
    else:
        initial = ops.cast(initial, x.dtype)
        if tuple(initial.shape) != tuple(x.shape[1:]):
            raise ValueError(f"exponential_moving_average: initial must have shape {x.shape[1:]}; "
                             f"received initial.shape={initial.shape}")

    def step(previous, x_t):
        y_t = gamma * previous + (1.0 - gamma) * x_t
        return y_t, y_t

    _, ys = ops.scan(step, initial, x)
    return ys
