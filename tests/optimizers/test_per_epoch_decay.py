"""per_epoch_decay: the notes' learning rate multiplied by decay_rate after every epoch."""

import numpy as np
import pytest

from kerasnotes.optimizers.per_epoch_decay import per_epoch_decay
from kerasnotes.optimizers.sgd import SGD


def test_the_rate_drops_once_per_epoch():
    schedule = per_epoch_decay(0.1, 0.5, steps_per_epoch=4)  # eta * 0.5 ** floor(step / 4)
    np.testing.assert_allclose([float(schedule(s)) for s in (0, 3, 4, 8, 11)],
                               [0.1, 0.1, 0.05, 0.025, 0.025], rtol=1e-6)
    optimizer = SGD(learning_rate=schedule)
    assert float(optimizer.learning_rate) == pytest.approx(0.1)


def test_no_decay_is_the_rate_itself():
    assert per_epoch_decay(0.3, 1.0, steps_per_epoch=7) == 0.3


@pytest.mark.parametrize("learning_rate, decay_rate, message", [
    (0.1, 1.5, "decay_rate must be in \\(0, 1\\]; received decay_rate=1.5"),
    (0.1, 0.0, "decay_rate must be in \\(0, 1\\]"),
    (0.1, float("nan"), "decay_rate must be"),
    (-0.1, 0.5, "per_epoch_decay: learning_rate must be >= 0"),
])
def test_bad_values_are_refused(learning_rate, decay_rate, message):
    with pytest.raises(ValueError, match=message):
        per_epoch_decay(learning_rate, decay_rate, steps_per_epoch=1)
