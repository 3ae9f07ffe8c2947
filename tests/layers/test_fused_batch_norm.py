import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.layers.fused_batch_norm import FusedBatchNormalization
from tests.test_case import (
    assert_same_training_steps,
    assert_same_values_and_gradients,
    random_inputs,
    run_layer_checks,
)

IMAGES = (4, 5, 6, 3)
WEIGHTS = tf.range(1.0, 4.0) / 40.0  # per channel: gradients of order 1 (120 pixels each)


def built_pair(input_shape=IMAGES, seed=0, **kwargs):
    """FusedBatchNormalization and keras.layers.BatchNormalization with the same random
    weights and moving statistics."""
    fused = FusedBatchNormalization(**kwargs)
    fused.build(input_shape)
    channels = input_shape[-1]
    rng = np.random.default_rng(seed)
    gamma, beta = rng.uniform(0.5, 1.5, channels), rng.uniform(-0.5, 0.5, channels)
    weights = ([gamma] if fused.scale else []) + ([beta] if fused.center else []) + [
        rng.uniform(-0.5, 0.5, channels), rng.uniform(0.5, 2.0, channels)]
    fused.set_weights([w.astype("float32") for w in weights])
    reference = keras.layers.BatchNormalization(**kwargs)
    reference.build(input_shape)
    reference.set_weights(fused.get_weights())
    return fused, reference


def test_training_output_and_moving_statistics_match_numpy_formula():
    layer, _ = built_pair(momentum=0.8, epsilon=1e-3)
    gamma, beta, moving_mean, moving_variance = layer.get_weights()
    x = random_inputs(IMAGES, seed=1, low=-2.0, high=3.0).astype("float64")
    mean, variance = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))  # biased variance
    expected = gamma * (x - mean) / np.sqrt(variance + 1e-3) + beta
    np.testing.assert_allclose(np.array(layer(x.astype("float32"), training=True)), expected,
                               atol=1e-5)
    np.testing.assert_allclose(np.array(layer.moving_mean), 0.8 * moving_mean + 0.2 * mean,
                               atol=1e-6)
    np.testing.assert_allclose(np.array(layer.moving_variance),
                               0.8 * moving_variance + 0.2 * variance, atol=1e-6)


@pytest.mark.parametrize("kwargs", [{}, dict(center=False), dict(scale=False)])
@pytest.mark.parametrize("training", [True, False])
def test_equals_keras_batch_norm_in_values_and_gradients(training, kwargs):
    fused, reference = built_pair(momentum=0.9, **kwargs)
    x = random_inputs(IMAGES, seed=2, low=-2.0, high=3.0)
    assert_same_values_and_gradients(
        lambda x: fused(x, training=training) * WEIGHTS,  # a loss that is not
        lambda x: reference(x, training=training) * WEIGHTS,  # invariant to BN
        [x], fused.trainable_variables, reference.trainable_variables)


def test_moving_statistics_equal_keras_after_training_steps():
    fused, reference = built_pair(momentum=0.7, epsilon=1e-2, seed=5)

    assert_same_training_steps(fused, reference, IMAGES)


def test_training_uses_one_fused_kernel():
    fused, _ = built_pair()
    graph = tf.function(lambda x: fused(x, training=True)).get_concrete_function(
        tf.TensorSpec(IMAGES, tf.float32)).graph
    kinds = {op.type for op in graph.get_operations()}
    assert "FusedBatchNormV3" in kinds and "Mean" not in kinds


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_is_keras_layer_to_the_rounding_of_the_low_precision_output(policy):
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        fused, reference = built_pair(momentum=0.9)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    x = tf.cast(random_inputs(IMAGES, seed=3, low=-2.0, high=3.0), fused.compute_dtype)
    y_fused, y_reference = fused(x, training=True), reference(x, training=True)
    assert y_fused.dtype == y_reference.dtype == fused.compute_dtype
    resolution = 2.0 ** -7 if policy == "mixed_bfloat16" else 2.0 ** -10
    np.testing.assert_allclose(np.array(tf.cast(y_fused, tf.float32)),
                               np.array(tf.cast(y_reference, tf.float32)),
                               atol=4 * resolution * 4.0)  # |y| < 4 here
    assert fused.moving_mean.dtype == "float32"
    np.testing.assert_allclose(np.array(fused.moving_mean), np.array(reference.moving_mean),
                               atol=1e-5)
    np.testing.assert_allclose(np.array(fused.moving_variance),
                               np.array(reference.moving_variance), atol=1e-5)


def test_other_cases_are_keras_own_code():
    fused, reference = built_pair((6, 3), seed=6)  # not images: Keras' code
    x = random_inputs((6, 3), seed=7)
    np.testing.assert_allclose(np.array(fused(x, training=True)),
                               np.array(reference(x, training=True)), atol=1e-6)
    fused.trainable = reference.trainable = False
    x = random_inputs((6, 3), seed=8)
    np.testing.assert_allclose(np.array(fused(x, training=True)),
                               np.array(reference(x, training=True)), atol=1e-6)


def test_layer_checks(tmp_path):
    layer = FusedBatchNormalization(momentum=0.9, epsilon=1e-4)
    run_layer_checks(layer, IMAGES, tmp_path, expected_output_shape=IMAGES)
