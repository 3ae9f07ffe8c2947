"""The optimizers the apps' flags name (apps/optimizer_registry.py)."""

import subprocess
import sys

import keras
import pytest

from apps.optimizer_registry import (
    NOTES_OPTIMIZERS,
    default_hyperparameters,
    make_optimizer,
)


@pytest.mark.parametrize("name", sorted(NOTES_OPTIMIZERS))
def test_every_name_builds_its_class_with_the_notes_defaults(name):
    module, class_name, defaults = NOTES_OPTIMIZERS[name]
    optimizer = make_optimizer(name, defaults, steps_per_epoch=5)
    assert type(optimizer).__name__ == class_name
    assert type(optimizer).__module__ == f"kerasnotes.optimizers.{module}"


def test_sgd_decay_rate_is_the_notes_per_epoch_decay():
    optimizer = make_optimizer("sgd", {"learning_rate": 0.1, "decay_rate": 0.5}, 4)
    schedule = optimizer._learning_rate  # eta_t = eta * decay_rate ** floor(step / 4)
    assert [round(float(schedule(s)), 6) for s in (0, 3, 4, 8, 11)] == [
        0.1, 0.1, 0.05, 0.025, 0.025]
    constant = make_optimizer("sgd", {"learning_rate": 0.1, "decay_rate": 1.0}, 4)
    assert not isinstance(constant._learning_rate, keras.optimizers.schedules.ExponentialDecay)
    assert float(keras.ops.convert_to_numpy(constant.learning_rate)) == pytest.approx(0.1)


def test_bad_names_and_decays_are_refused():
    with pytest.raises(ValueError, match="make_optimizer: name must be one of sgd"):
        make_optimizer("lion", {}, 1)
    with pytest.raises(ValueError, match="decay_rate must be in"):
        make_optimizer("sgd", {"learning_rate": 0.1, "decay_rate": 1.5}, 1)
    with pytest.raises(ValueError, match="Momentum: learning_rate must be >= 0"):
        make_optimizer("momentum", {"learning_rate": -0.1, "gamma": 0.5}, 1)


def test_default_hyperparameters_are_a_copy_of_the_notes_defaults():
    values = default_hyperparameters("momentum")
    assert values == {"learning_rate": 0.02, "gamma": 0.5}
    values["gamma"] = 0.9
    assert NOTES_OPTIMIZERS["momentum"][2]["gamma"] == 0.5
    with pytest.raises(ValueError, match="default_hyperparameters: name must be one of sgd"):
        default_hyperparameters("lion")


def test_the_registry_loads_no_tensorflow_until_an_optimizer_is_built():
    # The apps' flag checks read the default hyperparameters: --help and a bad flag stay fast.
    code = ("import sys; from apps.optimizer_registry import default_hyperparameters; "
            "default_hyperparameters('adam'); print('tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.stdout.strip() == "False", result.stderr[-2000:]
