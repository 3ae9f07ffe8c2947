"""RMSProp (notes section 6) against its NumPy transcription, epsilon inside the root."""

import keras
import numpy as np
import pytest

from kerasnotes.optimizers.rmsprop import RMSProp
from tests.optimizers.optimizer_checks import (
    STRATEGIES,
    check_against_keras,
    check_against_numpy,
    check_bad_argument,
    check_fit_and_save,
)

ETA, GAMMA, EPS = 0.05, 0.8, 1e-3


def numpy_update(x, g, state, t, eta, gamma=GAMMA, eps=EPS):
    s = state.get("s", np.zeros_like(x))
    s = gamma * s + (1 - gamma) * g * g
    state["s"] = s
    return x - eta / np.sqrt(s + eps) * g


@pytest.mark.parametrize("strategy_name", STRATEGIES)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_matches_numpy(sparse, strategy_name):
    check_against_numpy(lambda: RMSProp(learning_rate=ETA, gamma=GAMMA, epsilon=EPS),
                        numpy_update, ETA, sparse, strategy_name)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_weight_decay(sparse):
    check_against_numpy(
        lambda: RMSProp(learning_rate=ETA, gamma=GAMMA, epsilon=EPS, weight_decay=0.05),
        numpy_update, ETA, sparse, "default", weight_decay=0.05,
    )


# Dense only: with a repeated row in an IndexedSlices, Keras squares each copy
# separately (sum of squares, not the square of the row's summed gradient), so it
# differs from the dense formula there; ours matches the dense formula (test_matches_numpy).
def test_matches_keras_rmsprop():
    check_against_keras(
        lambda: RMSProp(learning_rate=ETA, gamma=GAMMA, epsilon=EPS),
        lambda: keras.optimizers.RMSprop(learning_rate=ETA, rho=GAMMA, epsilon=EPS),
    )


def test_fit_config_and_save(tmp_path):
    check_fit_and_save(RMSProp(learning_rate=0.01, gamma=0.9), tmp_path)


@pytest.mark.parametrize("name, value", [
    ("learning_rate", -0.01), ("gamma", 1.0), ("gamma", -0.5), ("epsilon", 0.0),
])
def test_bad_arguments(name, value):
    check_bad_argument(RMSProp, name, value)
