"""Adam with bias correction against its NumPy transcription."""

import keras
import numpy as np
import pytest

from kerasnotes.optimizers.adam import Adam
from tests.optimizers.optimizer_checks import (
    STRATEGIES,
    check_against_keras,
    check_against_numpy,
    check_bad_argument,
    check_fit_and_save,
)

ETA, BETA_1, BETA_2, EPS = 0.05, 0.8, 0.9, 1e-3  # a large epsilon: its place is tested


def numpy_update(x, g, state, t, eta, beta_1=BETA_1, beta_2=BETA_2, eps=EPS):
    m = state.get("m", np.zeros_like(x))
    v = state.get("v", np.zeros_like(x))
    m = beta_1 * m + (1 - beta_1) * g
    v = beta_2 * v + (1 - beta_2) * g * g
    state["m"], state["v"] = m, v
    m_hat = m / (1 - beta_1**t)
    v_hat = v / (1 - beta_2**t)
    return x - eta * m_hat / (np.sqrt(v_hat) + eps)


def make_adam(**kwargs):
    return Adam(learning_rate=ETA, beta_1=BETA_1, beta_2=BETA_2, epsilon=EPS, **kwargs)


@pytest.mark.parametrize("strategy_name", STRATEGIES)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_matches_numpy(sparse, strategy_name):
    check_against_numpy(make_adam, numpy_update, ETA, sparse, strategy_name)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_weight_decay(sparse):
    check_against_numpy(lambda: make_adam(weight_decay=0.05), numpy_update, ETA, sparse,
                        "default", weight_decay=0.05)


# Dense only: with a repeated row in an IndexedSlices, Keras squares each copy
# separately (sum of squares, not the square of the row's summed gradient), so it
# differs from the dense formula there; ours matches the dense formula (test_matches_numpy).
def test_close_to_keras_adam():
    # Keras adds its epsilon to sqrt(v) instead of sqrt(v_hat); with a tiny epsilon the two
    # agree to float32 precision.
    check_against_keras(
        lambda: Adam(learning_rate=ETA, epsilon=1e-8),
        lambda: keras.optimizers.Adam(learning_rate=ETA, epsilon=1e-8),
        tol=1e-5,
    )


def test_fit_config_and_save(tmp_path):
    check_fit_and_save(Adam(learning_rate=0.01), tmp_path)


@pytest.mark.parametrize("name, value", [
    ("learning_rate", -0.001), ("beta_1", 1.0), ("beta_2", 1.5), ("beta_1", -0.1),
    ("epsilon", 0.0),
])
def test_bad_arguments(name, value):
    check_bad_argument(Adam, name, value)
