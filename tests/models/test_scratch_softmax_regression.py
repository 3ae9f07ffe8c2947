import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.models.softmax_regression_scratch import SoftmaxRegressionScratch
from tests.test_case import random_inputs


def test_closed_form_gradient_equals_gradient_tape():
    model = SoftmaxRegressionScratch(num_inputs=5, num_classes=4, init_stddev=1.0, seed=0)
    X = random_inputs((6, 5), seed=1)
    labels = np.array([0, 3, 1, 2, 2, 0])
    with tf.GradientTape() as tape:
        loss = model.loss(X, labels)
    expected = tape.gradient(loss, model.variables)
    for ours, theirs in zip(model.gradients(X, labels), expected, strict=True):
        np.testing.assert_allclose(np.array(ours), np.array(theirs), atol=1e-6)


def test_loss_equals_keras_and_gradient_matches_numpy():
    model = SoftmaxRegressionScratch(num_inputs=3, num_classes=3, init_stddev=1.0, seed=2)
    X = random_inputs((4, 3), seed=3)
    labels = np.array([2, 0, 1, 1])
    keras_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    np.testing.assert_allclose(float(model.loss(X, labels)), float(keras_loss(labels, model(X))),
                               atol=1e-6)
    logits = X @ np.array(model.W) + np.array(model.b)
    P = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    D = (P - np.eye(3)[labels]) / 4
    grad_W, grad_b = model.gradients(X, labels)
    np.testing.assert_allclose(np.array(grad_W), X.T @ D, atol=1e-6)
    np.testing.assert_allclose(np.array(grad_b), D.sum(0), atol=1e-6)


def test_sgd_learns_separable_classes():
    rng = np.random.default_rng(0)
    centers = np.array([[3, 0], [-3, 0], [0, 3]], "float32")
    labels = rng.integers(0, 3, size=120)
    X = centers[labels] + rng.normal(0, 0.5, size=(120, 2)).astype("float32")
    model = SoftmaxRegressionScratch(num_inputs=2, num_classes=3, seed=0)
    start = float(model.loss(X, labels))
    for _ in range(50):
        model.sgd_step(X, labels, learning_rate=0.5)
    assert float(model.loss(X, labels)) < start / 5
    accuracy = np.mean(np.argmax(np.array(model(X)), axis=1) == labels)
    assert accuracy > 0.95


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: SoftmaxRegressionScratch(num_inputs=0, num_classes=3), "num_inputs"),
        (lambda: SoftmaxRegressionScratch(num_inputs=2, num_classes=1), "num_classes"),
    ],
)
def test_bad_arguments(build, message):
    with pytest.raises(ValueError, match=message):
        build()
