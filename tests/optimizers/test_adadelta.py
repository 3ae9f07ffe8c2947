"""AdaDelta (notes section 6) against its NumPy transcription, including the delta_x line."""

import keras
import numpy as np
import pytest

from kerasnotes.optimizers.adadelta import AdaDelta
from tests.optimizers.optimizer_checks import (
    STRATEGIES,
    check_against_keras,
    check_against_numpy,
    check_bad_argument,
    check_fit_and_save,
)

RHO, EPS = 0.8, 1e-3


def numpy_update(x, g, state, t, eta, rho=RHO, eps=EPS):
    s = state.get("s", np.zeros_like(x))
    delta_x = state.get("delta_x", np.zeros_like(x))
    s = rho * s + (1 - rho) * g * g
    g_prime = np.sqrt((delta_x + eps) / (s + eps)) * g
    x = x - eta * g_prime
    delta_x = rho * delta_x + (1 - rho) * g_prime * g_prime
    state["s"], state["delta_x"] = s, delta_x
    return x


@pytest.mark.parametrize("strategy_name", STRATEGIES)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_matches_numpy_without_learning_rate(sparse, strategy_name):
    # learning_rate=1.0 (the default) is the notes' formula, which has no learning rate.
    check_against_numpy(lambda: AdaDelta(rho=RHO, epsilon=EPS), numpy_update, 1.0, sparse,
                        strategy_name)


def test_learning_rate_scales_the_step_only():
    check_against_numpy(lambda: AdaDelta(learning_rate=0.5, rho=RHO, epsilon=EPS),
                        numpy_update, 0.5, False, "default")


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_weight_decay(sparse):
    check_against_numpy(lambda: AdaDelta(rho=RHO, epsilon=EPS, weight_decay=0.05),
                        numpy_update, 1.0, sparse, "default", weight_decay=0.05)


@pytest.mark.parametrize("learning_rate", [1.0, 0.5])
def test_matches_keras_adadelta(learning_rate):
    check_against_keras(
        lambda: AdaDelta(learning_rate=learning_rate, rho=RHO, epsilon=EPS),
        lambda: keras.optimizers.Adadelta(learning_rate=learning_rate, rho=RHO, epsilon=EPS),
    )


def test_default_learning_rate_is_the_notes_formula():
    assert AdaDelta().get_config()["learning_rate"] == 1.0


def test_fit_config_and_save(tmp_path):
    check_fit_and_save(AdaDelta(), tmp_path)


@pytest.mark.parametrize("name, value", [
    ("learning_rate", -1.0), ("rho", 1.0), ("rho", -0.1), ("epsilon", 0.0),
])
def test_bad_arguments(name, value):
    check_bad_argument(AdaDelta, name, value)
