"""The notes' learning-rate decay per epoch, `eta_t = eta * decay_rate ** epoch`."""

import keras

from kerasnotes._checks import check_number


def per_epoch_decay(learning_rate, decay_rate, steps_per_epoch):
    """`learning_rate` multiplied by `decay_rate` after every epoch of `steps_per_epoch`
    steps: Keras' `ExponentialDecay(staircase=True)`; `learning_rate` itself when
    `decay_rate` is 1 (no decay: the optimizer checks it).

    Args:
        learning_rate: `eta`, a number >= 0.
        decay_rate: a number in (0, 1].
        steps_per_epoch: optimizer steps in one epoch, >= 1.

    Example:

    >>> schedule = per_epoch_decay(0.1, 0.5, steps_per_epoch=4)
    >>> [round(float(schedule(step)), 4) for step in (0, 3, 4, 8)]
    [0.1, 0.1, 0.05, 0.025]
    >>> SGD(learning_rate=schedule)   # kerasnotes.optimizers.sgd.SGD
    """
    decay_rate = check_number("per_epoch_decay", "decay_rate", decay_rate, exclusive_minimum=0,
                              maximum=1)
    if decay_rate == 1:
        return learning_rate
    learning_rate = check_number("per_epoch_decay", "learning_rate", learning_rate, minimum=0)
    return keras.optimizers.schedules.ExponentialDecay(
        learning_rate, decay_steps=steps_per_epoch, decay_rate=decay_rate, staircase=True)
