"""The notes' optimizers by name."""

import numpy as np
import pytest

from kerasnotes.optimizers.by_name import NOTES_OPTIMIZERS, make_optimizer


@pytest.mark.parametrize("name", sorted(NOTES_OPTIMIZERS))
def test_every_name_builds_its_class_with_the_notes_defaults(name):
    _, class_name, defaults = NOTES_OPTIMIZERS[name]
    optimizer = make_optimizer(name, defaults, steps_per_epoch=5)
    assert type(optimizer).__name__ == class_name
    assert type(optimizer).__module__ == f"kerasnotes.optimizers.{NOTES_OPTIMIZERS[name][0]}"


def test_sgd_decay_rate_is_the_notes_per_epoch_decay():
    optimizer = make_optimizer("sgd", {"learning_rate": 0.1, "decay_rate": 0.5}, 4)
    schedule = optimizer._learning_rate  # eta_t = eta * decay_rate ** floor(step / 4)
    np.testing.assert_allclose([float(schedule(s)) for s in (0, 3, 4, 8, 11)],
                               [0.1, 0.1, 0.05, 0.025, 0.025], rtol=1e-6)


def test_bad_names_and_decays_are_refused():
    with pytest.raises(ValueError, match="name must be one of sgd"):
        make_optimizer("lion", {}, 1)
    with pytest.raises(ValueError, match="decay_rate must be in"):
        make_optimizer("sgd", {"learning_rate": 0.1, "decay_rate": 1.5}, 1)
