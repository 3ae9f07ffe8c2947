import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.layers.weight_decay import L2WeightDecay
from tests.test_case import random_inputs


def test_value_matches_numpy():
    w = random_inputs((4, 3), seed=0)
    np.testing.assert_allclose(float(L2WeightDecay(0.3)(w)), 0.3 / 2 * np.sum(w ** 2), rtol=1e-6)


def test_gradient_is_lambda_w():
    w = tf.Variable(random_inputs((5, 2), seed=1))
    with tf.GradientTape() as tape:
        penalty = L2WeightDecay(0.7)(w)
    np.testing.assert_allclose(np.array(tape.gradient(penalty, w)), 0.7 * np.array(w), atol=1e-7)


def test_equals_keras_l2_with_half_lambda():
    w = random_inputs((3, 6), seed=2)
    np.testing.assert_allclose(float(L2WeightDecay(0.2)(w)), float(keras.regularizers.L2(0.1)(w)),
                               rtol=1e-6)


def test_adds_the_penalty_to_a_dense_layer_and_round_trips(tmp_path):
    layer = keras.layers.Dense(3, kernel_regularizer=L2WeightDecay(0.5))
    model = keras.Sequential([keras.Input((4,)), layer])
    model(random_inputs((2, 4)))
    kernel = np.array(layer.kernel)
    np.testing.assert_allclose(float(sum(model.losses)), 0.25 * np.sum(kernel ** 2), rtol=1e-6)
    config = keras.regularizers.serialize(L2WeightDecay(0.5))
    rebuilt = keras.regularizers.deserialize(config)
    assert isinstance(rebuilt, L2WeightDecay) and rebuilt.weight_decay == 0.5
    path = str(tmp_path / "m.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert isinstance(reloaded.layers[0].kernel_regularizer, L2WeightDecay)


@pytest.mark.parametrize("value", [-0.1, float("nan"), float("inf")])
def test_bad_weight_decay(value):
    with pytest.raises(ValueError, match="weight_decay"):
        L2WeightDecay(value)
