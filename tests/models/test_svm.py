import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.layers.weight_decay import L2WeightDecay
from kerasnotes.models.svm import LinearSVM, polynomial_features
from tests.test_case import random_inputs, run_model_checks


def test_keras_hinge_is_the_notes_hinge_loss():
    y = np.array([[1.0], [-1.0], [1.0], [-1.0]], "float32")
    f = np.array([[2.0], [0.5], [0.3], [-3.0]], "float32")
    per_sample = np.maximum(0.0, 1.0 - y * f)[:, 0]  # [0, 1.5, 0.7, 0]
    hinge = keras.losses.Hinge(reduction="none")
    np.testing.assert_allclose(np.array(hinge(y, f)), per_sample, atol=1e-7)
    np.testing.assert_allclose(float(keras.losses.Hinge()(y, f)), per_sample.mean(), atol=1e-7)


def test_decision_function_and_labels():
    svm = LinearSVM(input_dim=3)
    x = random_inputs((6, 3), seed=0)
    w, b = svm.get_weights()
    f = x @ w + b
    np.testing.assert_allclose(np.array(svm(x)), f, atol=1e-6)
    np.testing.assert_array_equal(np.array(svm.predict_labels(x)), np.where(f[:, 0] >= 0, 1, -1))


def test_l2_adds_weight_decay_on_w():
    svm = LinearSVM(input_dim=3, l2=0.4)
    svm(random_inputs((2, 3)))
    kernel = svm.get_layer("decision").kernel
    assert isinstance(svm.get_layer("decision").kernel_regularizer, L2WeightDecay)
    np.testing.assert_allclose(float(sum(svm.losses)), 0.2 * np.sum(np.array(kernel) ** 2),
                               rtol=1e-6)


@pytest.mark.parametrize("c", [0.0, 1.0, 2.5])
def test_polynomial_features_inner_products_are_the_kernel(c):
    x = random_inputs((6, 4), seed=1, low=-2, high=2)
    phi = np.array(polynomial_features(x, c=c)).astype("float64")
    assert phi.shape == (6, 4 * 5 // 2 + 4 + 1)
    np.testing.assert_allclose(phi @ phi.T, (x @ x.T + c) ** 2, rtol=1e-5, atol=1e-5)


def test_polynomial_features_batch_axes():
    x = random_inputs((2, 3, 2), seed=2)
    phi = np.array(polynomial_features(x))
    np.testing.assert_allclose(phi.reshape(6, -1), np.array(polynomial_features(x.reshape(6, 2))),
                               atol=1e-7)


def rings(n_per_class=200, seed=0):
    """Two concentric rings: radius in [0, 1] is class -1, radius in [2, 3] is class +1."""
    rng = np.random.default_rng(seed)
    radius = np.concatenate([rng.uniform(0, 1, n_per_class), rng.uniform(2, 3, n_per_class)])
    angle = rng.uniform(0, 2 * np.pi, 2 * n_per_class)
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1).astype("float32")
    y = np.concatenate([-np.ones(n_per_class), np.ones(n_per_class)]).astype("float32")
    return x, y[:, None]


def train_accuracy(model, x, y, steps=100):
    """Full-batch Adam on the hinge loss plus the weight decay; returns training accuracy."""
    keras.utils.set_random_seed(0)
    optimizer, hinge = keras.optimizers.Adam(0.05), keras.losses.Hinge()

    @tf.function
    def train_step():
        with tf.GradientTape() as tape:
            loss = hinge(y, model(x, training=True)) + tf.add_n(model.losses)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))

    for _ in range(steps):
        train_step()
    return float(np.mean(np.array(model.predict_labels(x)) == y[:, 0]))


def test_random_fourier_features_beat_linear_svm_on_rings():
    x, y = rings()
    linear = train_accuracy(LinearSVM(input_dim=2, l2=1e-3), x, y)
    kernel = train_accuracy(LinearSVM(input_dim=2, random_features=256, gamma=1.0, l2=1e-3,
                                      seed=0), x, y)
    # No line separates a disk from the ring around it (a half-plane holding the whole disk
    # holds about half of the ring too); the RBF kernel separates them by radius.
    assert linear < 0.8
    assert kernel > 0.97
    assert kernel - linear > 0.2


@pytest.mark.parametrize("random_features", [0, 16])
def test_model_checks(random_features, tmp_path):
    svm = LinearSVM(input_dim=3, random_features=random_features, gamma=0.5, l2=0.01, seed=1)
    run_model_checks(svm, (4, 3), tmp_path, expected_output_shape=(4, 1))
    if random_features:
        assert svm.get_layer("random_fourier_features").output_dim == random_features


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: LinearSVM(input_dim=0), "input_dim"),
        (lambda: LinearSVM(input_dim=2, random_features=-1), "random_features"),
        (lambda: LinearSVM(input_dim=2, l2=-1.0), "l2"),
        (lambda: LinearSVM(input_dim=2, random_features=4, gamma=0.0), "gamma"),
        (lambda: polynomial_features(np.ones((2, 2), "float32"), c=-1.0), "c must"),
    ],
)
def test_bad_arguments(build, message):
    with pytest.raises(ValueError, match=message):
        build()
