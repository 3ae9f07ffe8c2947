"""AdaGrad (notes section 6) against its NumPy transcription, epsilon inside the root."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.optimizers.adagrad import AdaGrad
from tests.optimizers.optimizer_checks import (
    STRATEGIES,
    check_against_keras,
    check_against_numpy,
    check_bad_argument,
    check_fit_and_save,
)

ETA, EPS = 0.1, 1e-3  # a large epsilon so that its place (inside the root) is tested


def numpy_update(x, g, state, t, eta, eps=EPS):
    s = state.get("s", np.zeros_like(x))
    s = s + g * g
    state["s"] = s
    return x - eta / np.sqrt(s + eps) * g


@pytest.mark.parametrize("strategy_name", STRATEGIES)
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_matches_numpy(sparse, strategy_name):
    check_against_numpy(lambda: AdaGrad(learning_rate=ETA, epsilon=EPS), numpy_update, ETA,
                        sparse, strategy_name)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_weight_decay(sparse):
    check_against_numpy(lambda: AdaGrad(learning_rate=ETA, epsilon=EPS, weight_decay=0.05),
                        numpy_update, ETA, sparse, "default", weight_decay=0.05)


# Dense only: with a repeated row in an IndexedSlices, Keras squares each copy
# separately (sum of squares, not the square of the row's summed gradient), so it
# differs from the dense formula there; ours matches the dense formula (test_matches_numpy).
def test_matches_keras_adagrad():
    check_against_keras(
        lambda: AdaGrad(learning_rate=ETA, epsilon=EPS),
        lambda: keras.optimizers.Adagrad(learning_rate=ETA, epsilon=EPS,
                                         initial_accumulator_value=0.0),
    )


def test_sparse_update_touches_only_rows_with_gradients():
    # The sparse path sums repeated rows, then scatters into the named rows only.
    variable = keras.Variable(np.ones((4, 2), "float32"))
    optimizer = AdaGrad(learning_rate=ETA, epsilon=EPS)
    gradient = tf.IndexedSlices(tf.constant([[1.0, 2.0], [3.0, 4.0]]), tf.constant([2, 2]),
                                tf.constant([4, 2]))
    optimizer.apply_gradients([(gradient, variable)])
    g = np.array([4.0, 6.0])
    expected = np.ones((4, 2))
    expected[2] = 1 - ETA / np.sqrt(g * g + EPS) * g
    np.testing.assert_allclose(np.array(variable), expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.array(optimizer.variables[-1])[2], g * g, rtol=1e-6)


def test_fit_config_and_save(tmp_path):
    check_fit_and_save(AdaGrad(learning_rate=ETA), tmp_path)


@pytest.mark.parametrize("name, value", [
    ("learning_rate", -1.0), ("epsilon", 0.0), ("epsilon", -1e-6),
])
def test_bad_arguments(name, value):
    check_bad_argument(AdaGrad, name, value)
