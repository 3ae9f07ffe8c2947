"""Momentum (notes section 6, 动量法) against its NumPy transcription."""

import keras
import numpy as np
import pytest

from kerasnotes.optimizers.momentum import Momentum
from tests.optimizers.optimizer_checks import (
    STRATEGIES,
    check_against_keras,
    check_against_numpy,
    check_bad_argument,
    check_fit_and_save,
)

ETA, GAMMA = 0.1, 0.8


def numpy_update(x, g, state, t, eta, gamma=GAMMA):
    v = state.get("v", np.zeros_like(x))
    v = gamma * v + eta * g
    state["v"] = v
    return x - v


@pytest.mark.parametrize("strategy_name", STRATEGIES)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_matches_numpy(sparse, strategy_name):
    check_against_numpy(lambda: Momentum(learning_rate=ETA, gamma=GAMMA), numpy_update, ETA,
                        sparse, strategy_name)


def test_learning_rate_schedule():
    schedule = keras.optimizers.schedules.ExponentialDecay(ETA, decay_steps=1, decay_rate=0.5)
    check_against_numpy(lambda: Momentum(learning_rate=schedule, gamma=GAMMA), numpy_update,
                        lambda step: ETA * 0.5**step, False, "default")


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_weight_decay(sparse):
    check_against_numpy(lambda: Momentum(learning_rate=ETA, gamma=GAMMA, weight_decay=0.05),
                        numpy_update, ETA, sparse, "default", weight_decay=0.05)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_matches_keras_sgd_with_momentum(sparse):
    check_against_keras(lambda: Momentum(learning_rate=ETA, gamma=GAMMA),
                        lambda: keras.optimizers.SGD(learning_rate=ETA, momentum=GAMMA), sparse)


def test_fit_config_and_save(tmp_path):
    check_fit_and_save(Momentum(learning_rate=ETA, gamma=GAMMA), tmp_path)


@pytest.mark.parametrize("name, value", [
    ("learning_rate", -0.1), ("gamma", -0.1), ("gamma", 1.0), ("gamma", "0.9"),
])
def test_bad_arguments(name, value):
    check_bad_argument(Momentum, name, value)
