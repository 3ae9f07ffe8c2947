import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.models.linear_regression_scratch import LinearRegressionScratch
from tests.test_case import random_inputs

TRUE_W = np.array([[2.0], [-3.4]], "float32")
TRUE_B = 4.2


def synthetic_data(n=1000, noise=0.01, seed=0):
    """d2l's synthetic data: y = X w + b + noise, X ~ N(0, 1)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)).astype("float32")
    y = X @ TRUE_W + TRUE_B + rng.normal(0.0, noise, size=(n, 1)).astype("float32")
    return X, y


def test_closed_form_gradient_equals_gradient_tape():
    model = LinearRegressionScratch(num_features=3, init_stddev=1.0, seed=1)
    X = random_inputs((7, 3), seed=2)
    y = random_inputs((7, 1), seed=3)
    with tf.GradientTape() as tape:
        loss = model.loss(X, y)
    expected = tape.gradient(loss, model.variables)
    for ours, theirs in zip(model.gradients(X, y), expected, strict=True):
        np.testing.assert_allclose(np.array(ours), np.array(theirs), atol=1e-6)


def test_gradient_is_the_notes_sum_over_the_batch():
    model = LinearRegressionScratch(num_features=2, init_stddev=1.0, seed=4)
    X = random_inputs((5, 2), seed=5)
    y = random_inputs((5,), seed=6)
    w, b = np.array(model.w), np.array(model.b)
    error = X @ w + b - y[:, None]
    grad_w, grad_b = model.gradients(X, y)
    np.testing.assert_allclose(np.array(grad_w), sum(X[i:i + 1].T * error[i] for i in range(5)) / 5,
                               atol=1e-6)
    np.testing.assert_allclose(np.array(grad_b), error.mean(0), atol=1e-6)


def test_sgd_step_follows_the_update_rule():
    model = LinearRegressionScratch(num_features=2, init_stddev=1.0, seed=7)
    X, y = random_inputs((4, 2), seed=8), random_inputs((4, 1), seed=9)
    before = [np.array(v) for v in model.variables]
    grads = [np.array(g) for g in model.gradients(X, y)]
    model.sgd_step(X, y, learning_rate=0.5)
    for b, g, v in zip(before, grads, model.variables, strict=True):
        np.testing.assert_allclose(np.array(v), b - 0.5 * g, atol=1e-7)


def test_recovers_true_weights():
    X, y = synthetic_data()
    model = LinearRegressionScratch(num_features=2, seed=0)
    history = model.fit(X, y, epochs=3, batch_size=10, learning_rate=0.03, seed=0)
    # With noise std 0.01 and 1000 samples the least-squares error of w is ~0.01/sqrt(1000);
    # after 300 SGD steps (as in d2l) the weights are within a few 1e-3.
    np.testing.assert_allclose(np.array(model.w), TRUE_W, atol=5e-3)
    np.testing.assert_allclose(np.array(model.b), [TRUE_B], atol=5e-3)
    assert history[-1] < 1e-4  # the noise floor is 0.01^2 / 2 = 5e-5
    assert history[0] > history[-1]


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: LinearRegressionScratch(num_features=0), "num_features"),
        (lambda: LinearRegressionScratch(num_features=2, init_stddev=-1), "init_stddev"),
        (lambda: LinearRegressionScratch(2).fit(np.zeros((4, 3)), np.zeros(4)), "X must be"),
        (lambda: LinearRegressionScratch(2).fit(np.zeros((4, 2)), np.zeros(4), batch_size=0),
         "batch_size"),
    ],
)
def test_bad_arguments(build, message):
    with pytest.raises(ValueError, match=message):
        build()
