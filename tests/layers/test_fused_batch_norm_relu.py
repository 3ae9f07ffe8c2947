import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.layers import fused_batch_norm_relu
from kerasnotes.layers.fused_batch_norm import FusedBatchNormalization
from kerasnotes.layers.fused_batch_norm_relu import FusedBatchNormReLU
from kerasnotes.ops.batch_norm_relu_kernel import load_batch_norm_relu_kernel
from tests.layers.test_fused_batch_norm import IMAGES, WEIGHTS
from tests.test_case import (
    assert_same_training_steps,
    assert_same_values_and_gradients,
    random_inputs,
    run_layer_checks,
)


def built_pair(input_shape=IMAGES, seed=0, **kwargs):
    """FusedBatchNormReLU and `FusedBatchNormalization` + ReLU (a Sequential) with the same
    random weights and moving statistics."""
    layer = FusedBatchNormReLU(**kwargs)
    layer.build(input_shape)
    rng = np.random.default_rng(seed)
    channels = input_shape[-1]
    weights = [rng.uniform(0.5, 1.5, channels)] if layer.scale else []
    weights += [rng.uniform(-0.5, 0.5, channels)] if layer.center else []
    weights += [rng.uniform(-0.5, 0.5, channels), rng.uniform(0.5, 2.0, channels)]
    layer.set_weights([w.astype("float32") for w in weights])
    reference = keras.Sequential([keras.Input(input_shape[1:]),
                                  FusedBatchNormalization(**kwargs), keras.layers.ReLU()])
    reference.set_weights(layer.get_weights())
    return layer, reference


@pytest.fixture(params=["kernel", "tf ops"])
def kernel_or_not(request, monkeypatch):
    """Runs a test with the C++ gradient kernel, then with TF's ops (no kernel)."""
    if request.param == "tf ops":
        monkeypatch.setitem(fused_batch_norm_relu._KERNEL, "ops", None)
    return request.param


@pytest.mark.parametrize("kwargs", [{}, dict(center=False), dict(scale=False)])
@pytest.mark.parametrize("training", [True, False])
def test_equals_fused_batch_norm_then_relu(training, kwargs, kernel_or_not):
    layer, reference = built_pair(momentum=0.9, **kwargs)
    x = random_inputs(IMAGES, seed=2, low=-2.0, high=3.0)
    assert_same_values_and_gradients(
        lambda x: layer(x, training=training) * WEIGHTS,
        lambda x: reference(x, training=training) * WEIGHTS,
        [x], layer.trainable_variables, reference.trainable_variables)
    np.testing.assert_allclose(layer.moving_mean, reference.layers[0].moving_mean, atol=1e-6)
    np.testing.assert_allclose(layer.moving_variance, reference.layers[0].moving_variance,
                               atol=1e-6)


def test_moving_statistics_and_weights_equal_after_training_steps(kernel_or_not):
    layer, reference = built_pair(momentum=0.7, epsilon=1e-2, seed=5)
    assert_same_training_steps(layer, reference, IMAGES)


def test_training_gradient_is_one_kernel_op():
    layer, _ = built_pair()

    def gradients(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(x, training=True) * WEIGHTS)
        return tape.gradient(loss, [x] + layer.trainable_variables)

    graph = tf.function(gradients).get_concrete_function(
        tf.TensorSpec(IMAGES, tf.float32)).graph
    kinds = {op.type for op in graph.get_operations()}
    assert {"FusedBatchNormV3", "Relu", "BatchNormReluGrad"} <= kinds
    assert not kinds & {"ReluGrad", "FusedBatchNormGradV3"}


def test_mixed_bfloat16_equals_reference_to_bfloat16_rounding():
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        layer, reference = built_pair((8, 6, 6, 5), momentum=0.9, seed=3)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    x = tf.cast(random_inputs((8, 6, 6, 5), seed=4, low=-2.0, high=3.0), tf.bfloat16)
    cotangent = tf.cast(random_inputs((8, 6, 6, 5), seed=5), tf.bfloat16)
    results = []
    for model in (layer, reference):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = model(x, training=True)
            loss = tf.reduce_sum(tf.cast(y * cotangent, tf.float32))
        grads = tape.gradient(loss, [x] + model.trainable_variables)
        assert y.dtype == grads[0].dtype == tf.bfloat16
        results.append([np.array(tf.cast(t, tf.float32)) for t in [y] + grads])
    # bfloat16 keeps 8 bits: a relative resolution of 2^-8, a few roundings on each side
    for ours, theirs, scale in zip(*results, (4.0, 2.0, 20.0, 20.0), strict=True):
        np.testing.assert_allclose(ours, theirs, atol=4 * 2.0 ** -8 * scale)
    np.testing.assert_allclose(layer.moving_mean, reference.layers[0].moving_mean, atol=1e-5)
    np.testing.assert_allclose(layer.moving_variance, reference.layers[0].moving_variance,
                               atol=1e-5)


def test_mixed_float16_uses_tf_ops():
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        layer, reference = built_pair(momentum=0.9)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    x = tf.cast(random_inputs(IMAGES, seed=6), tf.float16)
    np.testing.assert_array_equal(np.array(layer(x, training=True)),
                                  np.array(reference(x, training=True)))


def test_kernel_matches_numpy_formula_including_one_element_batches():
    ops = load_batch_norm_relu_kernel()
    rng = np.random.default_rng(7)
    for shape in [(3, 4, 5, 6), (1, 1, 1, 4), (40, 33)]:
        x = rng.normal(size=shape).astype("float32")
        dy = rng.normal(size=shape).astype("float32")
        gamma, beta = rng.uniform(0.5, 1.5, shape[-1]), rng.uniform(-0.5, 0.5, shape[-1])
        axes = tuple(range(len(shape) - 1))
        mean, inv_std = x.mean(axes), 1.0 / np.sqrt(x.var(axes) + 1e-3)
        x_hat = (x - mean) * inv_std
        y = np.maximum(gamma * x_hat + beta, 0.0).astype("float32")
        g = dy * (y > 0)
        n = x.size // shape[-1]
        dbeta, dgamma = g.sum(axes), (g * x_hat).sum(axes)
        dx = gamma * inv_std * (g - dbeta / n - x_hat * dgamma / n)
        got = ops.batch_norm_relu_grad(dy, y, x, gamma.astype("float32"),
                                       mean.astype("float32"), inv_std.astype("float32"))
        for ours, expected in zip(got, (dx, dgamma, dbeta), strict=True):
            np.testing.assert_allclose(np.array(ours), expected, atol=1e-5)


def test_kernel_rejects_mismatched_shapes():
    ops = load_batch_norm_relu_kernel()
    x, c = tf.ones((2, 3, 3, 4)), tf.ones(4)
    with pytest.raises(tf.errors.InvalidArgumentError, match="one shape"):
        ops.batch_norm_relu_grad(x, x, tf.ones((2, 3, 3, 5)), c, c, c)
    with pytest.raises(tf.errors.InvalidArgumentError, match="hold 4 values"):
        ops.batch_norm_relu_grad(x, x, x, tf.ones(3), c, c)


def test_layer_checks(tmp_path):
    layer = FusedBatchNormReLU(momentum=0.9, epsilon=1e-4)
    out = run_layer_checks(layer, IMAGES, tmp_path, expected_output_shape=IMAGES)
    assert np.min(out) >= 0.0
    restored = FusedBatchNormReLU.from_config(layer.get_config())
    assert restored.get_config() == layer.get_config()
    assert keras.saving.get_registered_object("kerasnotes>FusedBatchNormReLU") is \
        FusedBatchNormReLU


def test_without_a_compiler_the_layer_warns_once_and_uses_tf_ops(tmp_path, monkeypatch,
                                                                  caplog):
    from kerasnotes.ops.batch_norm_relu_kernel import build

    monkeypatch.setenv("KERASNOTES_OPS_CACHE", str(tmp_path / "cache"))  # nothing built
    monkeypatch.setenv("CXX", "/nonexistent/c++")
    monkeypatch.setattr(build, "_LOADED", {})
    monkeypatch.delitem(fused_batch_norm_relu._KERNEL, "ops", raising=False)
    layer, reference = built_pair(momentum=0.9)
    x = random_inputs(IMAGES, seed=8)
    with caplog.at_level("WARNING"):
        for _ in range(2):
            assert_same_values_and_gradients(
                lambda x: layer(x, training=True) * WEIGHTS,
                lambda x: reference(x, training=True) * WEIGHTS,
                [x], layer.trainable_variables, reference.trainable_variables)
    warnings = [r.getMessage() for r in caplog.records if "FusedBatchNormReLU" in r.getMessage()]
    assert len(warnings) == 1 and "no C++ compiler" in warnings[0]
