"""SGD (notes section 6) against its NumPy transcription, with and without a decaying
learning rate, dense and sparse gradients, default and mirrored strategies."""

import keras
import pytest

from kerasnotes.optimizers.sgd import SGD
from tests.optimizers.optimizer_checks import (
    STRATEGIES,
    check_against_keras,
    check_against_numpy,
    check_bad_argument,
    check_fit_and_save,
)

ETA = 0.1


def numpy_update(x, g, state, t, eta):
    return x - eta * g


@pytest.mark.parametrize("strategy_name", STRATEGIES)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_matches_numpy(sparse, strategy_name):
    check_against_numpy(lambda: SGD(learning_rate=ETA), numpy_update, ETA, sparse,
                        strategy_name)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_exponential_decay_is_eta_alpha_power_t(sparse):
    # The notes: the learning rate may shrink with the iterations; eta_t = eta * alpha**t.
    alpha = 0.5
    schedule = keras.optimizers.schedules.ExponentialDecay(ETA, decay_steps=1, decay_rate=alpha)
    check_against_numpy(lambda: SGD(learning_rate=schedule), numpy_update,
                        lambda step: ETA * alpha**step, sparse, "default")


def test_exponential_decay_staircase_decays_every_k_steps():
    schedule = keras.optimizers.schedules.ExponentialDecay(
        ETA, decay_steps=2, decay_rate=0.5, staircase=True
    )
    check_against_numpy(lambda: SGD(learning_rate=schedule), numpy_update,
                        lambda step: ETA * 0.5 ** (step // 2), False, "mirrored")


def test_inverse_time_decay_is_eta_over_t():
    schedule = keras.optimizers.schedules.InverseTimeDecay(ETA, decay_steps=1, decay_rate=1.0)
    check_against_numpy(lambda: SGD(learning_rate=schedule), numpy_update,
                        lambda step: ETA / (step + 1), False, "default")


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_weight_decay(sparse):
    check_against_numpy(lambda: SGD(learning_rate=ETA, weight_decay=0.05), numpy_update, ETA,
                        sparse, "default", weight_decay=0.05)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_matches_keras_sgd(sparse):
    check_against_keras(lambda: SGD(learning_rate=ETA),
                        lambda: keras.optimizers.SGD(learning_rate=ETA), sparse)


def test_fit_config_and_save(tmp_path):
    check_fit_and_save(SGD(learning_rate=ETA), tmp_path)


def test_fit_config_and_save_with_schedule(tmp_path):
    schedule = keras.optimizers.schedules.ExponentialDecay(ETA, decay_steps=1, decay_rate=0.9)
    check_fit_and_save(SGD(learning_rate=schedule), tmp_path)


@pytest.mark.parametrize("value", [-0.1, True, float("nan")])
def test_bad_learning_rate(value):
    check_bad_argument(SGD, "learning_rate", value)
