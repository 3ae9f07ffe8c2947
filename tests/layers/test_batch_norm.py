import keras
import numpy as np
import pytest

from kerasnotes.layers.batch_norm import BatchNormalization
from tests.test_case import (
    assert_same_training_steps,
    assert_same_values_and_gradients,
    random_inputs,
    run_layer_checks,
)

SHAPES = [(8, 5), (4, 3, 6, 5), (3, 4, 5)]


def built_pair(input_shape, momentum=0.9, epsilon=1e-3, seed=0):
    """Our layer and keras.layers.BatchNormalization with the same random weights and
    moving statistics (the moving variance positive)."""
    ours = BatchNormalization(momentum=momentum, epsilon=epsilon)
    ours.build(input_shape)
    channels = input_shape[-1]
    rng = np.random.default_rng(seed)
    weights = [
        rng.uniform(0.5, 1.5, channels),  # gamma
        rng.uniform(-0.5, 0.5, channels),  # beta
        rng.uniform(-0.5, 0.5, channels),  # moving mean
        rng.uniform(0.5, 2.0, channels),  # moving variance
    ]
    ours.set_weights([w.astype("float32") for w in weights])
    reference = keras.layers.BatchNormalization(momentum=momentum, epsilon=epsilon)
    reference.build(input_shape)
    reference.set_weights(ours.get_weights())
    return ours, reference


def numpy_batch_norm(x, gamma, beta, epsilon):
    """The notes' formulas: per channel over every other axis, biased variance."""
    axes = tuple(range(x.ndim - 1))
    mean = x.mean(axis=axes)
    variance = ((x - mean) ** 2).mean(axis=axes)
    return gamma * (x - mean) / np.sqrt(variance + epsilon) + beta, mean, variance


@pytest.mark.parametrize("input_shape", SHAPES)
def test_training_output_matches_numpy_formula(input_shape):
    layer, _ = built_pair(input_shape, momentum=0.8)
    gamma, beta, moving_mean, moving_variance = layer.get_weights()
    x = random_inputs(input_shape, seed=1, low=-2.0, high=3.0)
    expected, mean, variance = numpy_batch_norm(x.astype("float64"), gamma, beta, 1e-3)
    np.testing.assert_allclose(np.array(layer(x, training=True)), expected, atol=1e-5)
    np.testing.assert_allclose(np.array(layer.moving_mean), 0.8 * moving_mean + 0.2 * mean,
                               atol=1e-6)
    np.testing.assert_allclose(np.array(layer.moving_variance),
                               0.8 * moving_variance + 0.2 * variance, atol=1e-6)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("input_shape", SHAPES)
def test_equals_keras_batch_norm(input_shape, training):
    ours, reference = built_pair(input_shape)
    x = random_inputs(input_shape, seed=2, low=-2.0, high=3.0)
    assert_same_values_and_gradients(
        lambda x: ours(x, training=training),
        lambda x: reference(x, training=training),
        [x],
        [ours.gamma, ours.beta],
        [reference.gamma, reference.beta],
    )


def test_inference_uses_moving_statistics_and_leaves_them():
    ours, _ = built_pair((6, 4), seed=3)
    gamma, beta, moving_mean, moving_variance = ours.get_weights()
    x = random_inputs((6, 4), seed=4)
    expected = gamma * (x - moving_mean) / np.sqrt(moving_variance + 1e-3) + beta
    for training in (False, None):
        np.testing.assert_allclose(np.array(ours(x, training=training)), expected, atol=1e-6)
    np.testing.assert_array_equal(np.array(ours.moving_mean), moving_mean)
    np.testing.assert_array_equal(np.array(ours.moving_variance), moving_variance)


@pytest.mark.parametrize("input_shape", [(8, 5), (4, 3, 6, 5)])
def test_moving_statistics_equal_keras_after_training_steps(input_shape):
    ours, reference = built_pair(input_shape, momentum=0.7, epsilon=1e-2, seed=5)

    assert_same_training_steps(ours, reference, input_shape)
    x = random_inputs(input_shape, seed=20)
    np.testing.assert_allclose(np.array(ours(x)), np.array(reference(x)), atol=1e-5, rtol=0)


def test_not_trainable_uses_moving_statistics_like_keras():
    ours, reference = built_pair((6, 3), seed=6)
    ours.trainable = False
    reference.trainable = False
    x = random_inputs((6, 3), seed=7)
    np.testing.assert_allclose(np.array(ours(x, training=True)),
                               np.array(reference(x, training=True)), atol=1e-5, rtol=0)
    np.testing.assert_allclose(np.array(ours(x, training=True)), np.array(ours(x)), atol=0)


@pytest.mark.parametrize("input_shape", [(4, 5), (2, 4, 4, 3)])
def test_layer_checks(input_shape, tmp_path):
    layer = BatchNormalization(momentum=0.9, epsilon=1e-4)
    run_layer_checks(layer, input_shape, tmp_path, expected_output_shape=input_shape)
    assert len(layer.trainable_variables) == 2 and len(layer.non_trainable_variables) == 2


@pytest.mark.parametrize("kwargs,match", [
    (dict(momentum=1.5), "momentum"),
    (dict(momentum=-0.1), "momentum"),
    (dict(epsilon=0.0), "epsilon"),
    (dict(epsilon=-1e-3), "epsilon"),
])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BatchNormalization(**kwargs)


def test_wrong_input_rank_names_layer_and_shape():
    with pytest.raises(ValueError, match=r"my_bn.*\(5,\)"):
        BatchNormalization(name="my_bn")(np.zeros((5,), "float32"))
    with pytest.raises(ValueError, match=r"my_bn2.*\(2, None\)"):
        BatchNormalization(name="my_bn2").build((2, None))
