import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.models.mlp_scratch import MLPScratch
from tests.test_case import random_inputs


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_backprop_equals_gradient_tape(activation, weight_decay):
    mlp = MLPScratch((5, 7, 6, 3), activation=activation, weight_decay=weight_decay,
                     init_stddev=0.5, seed=0)
    X = random_inputs((8, 5), seed=1)
    labels = np.array([0, 1, 2, 2, 1, 0, 1, 2])
    with tf.GradientTape() as tape:
        loss = mlp.loss(X, labels)
    expected = tape.gradient(loss, mlp.variables)
    ours = mlp.gradients(X, labels)
    assert len(ours) == len(expected) == 6
    for i, (g_ours, g_tape) in enumerate(zip(ours, expected, strict=True)):
        assert g_ours.shape == g_tape.shape
        np.testing.assert_allclose(np.array(g_ours), np.array(g_tape), atol=1e-5,
                                   err_msg=f"gradient of {mlp.variables[i].name}")


def test_forward_equals_keras_mlp_and_weight_decay_term():
    mlp = MLPScratch((4, 6, 3), activation="tanh", weight_decay=0.2, init_stddev=0.5, seed=2)
    keras_mlp = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6, activation="tanh"),
                                  keras.layers.Dense(3)])
    keras_mlp.set_weights([np.array(v) for v in mlp.variables])
    X = random_inputs((5, 4), seed=3)
    labels = np.array([0, 1, 2, 1, 0])
    np.testing.assert_allclose(np.array(mlp(X)), np.array(keras_mlp(X)), atol=1e-6)
    data_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels,
                                                                             keras_mlp(X))
    penalty = 0.2 / 2 * sum(np.sum(np.array(W) ** 2) for W in mlp.weights)
    np.testing.assert_allclose(float(mlp.loss(X, labels)), float(data_loss) + penalty, atol=1e-6)


def test_sgd_reduces_the_loss():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 2)).astype("float32")
    labels = (X[:, 0] * X[:, 1] > 0).astype("int32")  # XOR-like: needs the hidden layer
    mlp = MLPScratch((2, 16, 2), activation="tanh", init_stddev=1.0, seed=0)
    start = float(mlp.loss(X, labels))
    for _ in range(300):
        mlp.sgd_step(X, labels, learning_rate=0.5)
    assert float(mlp.loss(X, labels)) < start / 2
    assert np.mean(np.argmax(np.array(mlp(X)), axis=1) == labels) > 0.9


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: MLPScratch((4,)), "layer_sizes"),
        (lambda: MLPScratch((4, 0, 2)), "layer_sizes"),
        (lambda: MLPScratch((4, 2), activation="softsign"), "activation"),
        (lambda: MLPScratch((4, 2), weight_decay=-0.1), "weight_decay"),
    ],
)
def test_bad_arguments(build, message):
    with pytest.raises(ValueError, match=message):
        build()
