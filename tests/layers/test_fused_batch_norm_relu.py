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
    values_and_gradients,
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


@pytest.mark.parametrize("then_pool", [False, True])
@pytest.mark.parametrize("training", [True, False])
def test_a_bias_left_out_of_the_input_counts_as_added(training, then_pool, kernel_or_not):
    # The result of (x, bias) is that of x + bias; in training the bias only reaches the
    # moving mean, and its gradient is zeros (not None).
    layer, reference = built_pair(momentum=0.8)
    pool = keras.layers.MaxPooling2D(2)
    bias = tf.Variable(random_inputs((IMAGES[-1],), seed=4, low=-3.0, high=3.0))
    x = random_inputs(IMAGES, seed=2, low=-2.0, high=3.0)
    if then_pool:
        ours = lambda x: layer.call_then_pool(x, pool, training=training, bias=bias)
        theirs = lambda x: pool(reference(x + bias, training=training))
    else:
        ours = lambda x: layer(x, training=training, bias=bias) * WEIGHTS
        theirs = lambda x: reference(x + bias, training=training) * WEIGHTS
    assert_same_values_and_gradients(ours, theirs, [x], layer.trainable_variables,
                                     reference.trainable_variables)
    np.testing.assert_allclose(layer.moving_mean, reference.layers[0].moving_mean, atol=1e-6)
    np.testing.assert_allclose(layer.moving_variance, reference.layers[0].moving_variance,
                               atol=1e-5)
    with tf.GradientTape() as tape:
        y = ours(x)
    bias_gradient = tape.gradient(y, bias)
    assert bias_gradient is not None
    if training:
        assert np.all(bias_gradient.numpy() == 0)


def test_moving_statistics_and_weights_equal_after_training_steps(kernel_or_not):
    layer, reference = built_pair(momentum=0.7, epsilon=1e-2, seed=5)
    assert_same_training_steps(layer, reference, IMAGES)


def test_training_forward_and_gradient_are_one_kernel_op_each():
    layer, _ = built_pair()

    def gradients(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(x, training=True) * WEIGHTS)
        return tape.gradient(loss, [x] + layer.trainable_variables)

    graph = tf.function(gradients).get_concrete_function(
        tf.TensorSpec(IMAGES, tf.float32)).graph
    kinds = {op.type for op in graph.get_operations()}
    assert {"BatchNormRelu", "BatchNormReluGrad"} <= kinds
    assert not kinds & {"FusedBatchNormV3", "Relu", "ReluGrad", "FusedBatchNormGradV3"}


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


# Channels 16, 48 and 144 take the AVX-512 loops (groups of 16 channels, 144 = 128 + 16),
# the others the plain loops.
KERNEL_SHAPES = [(3, 4, 5, 6), (1, 1, 1, 4), (40, 33), (2, 7, 9, 16), (3, 5, 5, 48), (300, 144),
                 (2, 6, 6, 20)]


@pytest.mark.parametrize("shape", KERNEL_SHAPES)
def test_forward_kernel_equals_fused_batch_norm_v3_then_relu(shape):
    ops = load_batch_norm_relu_kernel()
    rng = np.random.default_rng(3)
    # An offset far above the spread: the kernel's sums are shifted by the first row.
    x = (rng.normal(size=shape) * 0.5 + 100.0).astype("float32")
    gamma = rng.uniform(0.5, 1.5, shape[-1]).astype("float32")
    beta = rng.uniform(-0.5, 0.5, shape[-1]).astype("float32")
    x4 = x.reshape((1, 1) + shape) if len(shape) == 2 else x
    expected = tf.compat.v1.nn.fused_batch_norm(x4, gamma, beta, epsilon=1e-3,
                                                 is_training=True)
    y, mean, variance = ops.batch_norm_relu(x, gamma, beta, epsilon=1e-3)
    np.testing.assert_allclose(np.array(y), np.maximum(np.array(expected[0]), 0.0).reshape(shape),
                               atol=2e-4)
    np.testing.assert_allclose(np.array(mean), np.array(expected[1]), rtol=1e-6)
    np.testing.assert_allclose(np.array(variance), np.array(expected[2]), rtol=1e-4, atol=1e-7)
    axes = tuple(range(len(shape) - 1))
    x64 = x.astype("float64")
    np.testing.assert_allclose(np.array(mean), x64.mean(axes), rtol=1e-7)
    if x.size // shape[-1] > 1:
        np.testing.assert_allclose(np.array(variance), x64.var(axes, ddof=1), rtol=1e-5)


@pytest.mark.parametrize("channels", [16, 20])
def test_forward_kernel_in_bfloat16_rounds_once(channels):
    ops = load_batch_norm_relu_kernel()
    rng = np.random.default_rng(4)
    x = tf.cast(rng.normal(size=(4, 6, 6, channels)) * 2.0 + 1.0, tf.bfloat16)
    gamma = rng.uniform(0.5, 1.5, channels).astype("float32")
    beta = rng.uniform(-0.5, 0.5, channels).astype("float32")
    y, mean, variance = ops.batch_norm_relu(x, gamma, beta, epsilon=1e-3)
    assert y.dtype == tf.bfloat16 and mean.dtype == tf.float32
    x64 = np.array(tf.cast(x, tf.float64))
    mu, var = x64.mean((0, 1, 2)), x64.var((0, 1, 2))
    expected = np.maximum(gamma * (x64 - mu) / np.sqrt(var + 1e-3) + beta, 0.0)
    np.testing.assert_allclose(np.array(tf.cast(y, tf.float64)), expected, rtol=2 ** -8,
                               atol=1e-5)
    np.testing.assert_allclose(np.array(mean), mu, rtol=1e-6)
    np.testing.assert_allclose(np.array(variance), x64.var((0, 1, 2), ddof=1), rtol=1e-5)


def test_forward_kernel_on_one_row_and_on_none_as_fused_batch_norm_v3():
    ops = load_batch_norm_relu_kernel()
    gamma, beta = np.ones(3, "float32"), np.zeros(3, "float32")
    _, mean, variance = ops.batch_norm_relu(np.array([[1.0, 2.0, 3.0]], "float32"), gamma, beta,
                                            epsilon=1e-3)
    np.testing.assert_array_equal(np.array(mean), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(np.array(variance), [0.0, 0.0, 0.0])
    y, mean, variance = ops.batch_norm_relu(np.zeros((0, 2, 2, 3), "float32"), gamma, beta,
                                            epsilon=1e-3)
    assert y.shape == (0, 2, 2, 3)
    assert np.isnan(np.array(mean)).all() and np.isnan(np.array(variance)).all()


def numpy_batch_norm_relu_gradient(dy, x, gamma, beta, epsilon=1e-3):
    """`(dx, dgamma, dbeta, mean, inv_std)` of the notes' batch norm + ReLU, in float64."""
    axes = tuple(range(x.ndim - 1))
    mean, inv_std = x.mean(axes), 1.0 / np.sqrt(x.var(axes) + epsilon)
    x_hat = (x - mean) * inv_std
    g = dy * (gamma * x_hat + beta > 0)
    n = x.size // x.shape[-1]
    dbeta, dgamma = g.sum(axes), (g * x_hat).sum(axes)
    dx = gamma * inv_std * (g - dbeta / n - x_hat * dgamma / n)
    return dx, dgamma, dbeta, mean, inv_std


@pytest.mark.parametrize("shape", KERNEL_SHAPES)
def test_gradient_kernel_matches_numpy_formula(shape):
    ops = load_batch_norm_relu_kernel()
    rng = np.random.default_rng(7)
    x = rng.normal(size=shape).astype("float32")
    dy = rng.normal(size=shape).astype("float32")
    gamma = rng.uniform(0.5, 1.5, shape[-1]).astype("float32")
    beta = rng.uniform(-0.5, 0.5, shape[-1]).astype("float32")
    dx, dgamma, dbeta, mean, inv_std = numpy_batch_norm_relu_gradient(
        dy.astype("float64"), x.astype("float64"), gamma, beta)
    got = ops.batch_norm_relu_grad(dy, x, gamma, beta, mean.astype("float32"),
                                   inv_std.astype("float32"))
    for ours, expected in zip(got, (dx, dgamma, dbeta), strict=True):
        np.testing.assert_allclose(np.array(ours), expected, atol=2e-5)


@pytest.mark.parametrize("channels", [16, 48, 20])
def test_gradient_kernel_in_bfloat16_matches_numpy_formula_on_the_same_values(channels):
    """In bfloat16 the kernel computes in float32 from bfloat16 inputs and rounds dx once."""
    ops = load_batch_norm_relu_kernel()
    rng = np.random.default_rng(8)
    shape = (4, 6, 6, channels)
    x = tf.cast(rng.normal(size=shape), tf.bfloat16)
    dy = tf.cast(rng.normal(size=shape), tf.bfloat16)
    gamma = rng.uniform(0.5, 1.5, channels).astype("float32")
    beta = rng.uniform(-0.5, 0.5, channels).astype("float32")
    x64, dy64 = (np.array(tf.cast(t, tf.float64)) for t in (x, dy))
    dx, dgamma, dbeta, mean, inv_std = numpy_batch_norm_relu_gradient(dy64, x64, gamma, beta)
    got_dx, got_dgamma, got_dbeta = ops.batch_norm_relu_grad(
        dy, x, gamma, beta, mean.astype("float32"), inv_std.astype("float32"))
    assert got_dx.dtype == tf.bfloat16
    # One rounding to bfloat16 (8 bits of mantissa) on top of float32 arithmetic.
    np.testing.assert_allclose(np.array(tf.cast(got_dx, tf.float64)), dx,
                               rtol=2 ** -8, atol=1e-5)
    np.testing.assert_allclose(np.array(got_dgamma), dgamma, atol=1e-4)
    np.testing.assert_allclose(np.array(got_dbeta), dbeta, atol=1e-4)


def test_gradient_kernel_mask_is_relu_of_the_normalized_input():
    """Where gamma * x_hat + beta <= 0 (the ReLU is off), dy does not reach dx or dbeta."""
    ops = load_batch_norm_relu_kernel()
    x = np.array([[-1.0] * 16, [1.0] * 16], "float32")  # x_hat -1 and +1 in every channel
    dy = np.full_like(x, 5.0)
    gamma, beta = np.ones(16, "float32"), np.zeros(16, "float32")
    dx, dgamma, dbeta = ops.batch_norm_relu_grad(dy, x, gamma, beta, np.zeros(16, "float32"),
                                                 np.ones(16, "float32"))
    np.testing.assert_allclose(np.array(dbeta), 5.0)  # only the second row's dy
    np.testing.assert_allclose(np.array(dgamma), 5.0)  # 5 * x_hat = 5 * (+1)


def test_kernel_rejects_mismatched_shapes():
    ops = load_batch_norm_relu_kernel()
    x, c = tf.ones((2, 3, 3, 4)), tf.ones(4)
    with pytest.raises(tf.errors.InvalidArgumentError, match="one shape"):
        ops.batch_norm_relu_grad(x, tf.ones((2, 3, 3, 5)), c, c, c, c)
    with pytest.raises(tf.errors.InvalidArgumentError, match="hold 4 values"):
        ops.batch_norm_relu_grad(x, x, c, tf.ones(3), c, c)
    with pytest.raises(tf.errors.InvalidArgumentError, match="gamma and beta must hold 4"):
        ops.batch_norm_relu(x, c, tf.ones(5), epsilon=1e-3)


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


def tf_batch_norm_relu_max_pool(x, gamma, beta, epsilon=1e-3):
    """TF's ops one after the other: FusedBatchNormV3, ReLU, 2x2 max pooling (stride 2)."""
    y, mean, variance = tf.compat.v1.nn.fused_batch_norm(x, gamma, beta, epsilon=epsilon,
                                                         is_training=True)
    return tf.nn.max_pool2d(tf.nn.relu(y), 2, 2, "VALID"), mean, variance


# Odd heights and widths (the last row or column is outside every window), channels on the
# AVX-512 loops (16, 48) and on the plain ones (3, 20).
@pytest.mark.parametrize("shape", [(2, 4, 4, 16), (2, 5, 7, 16), (3, 6, 6, 48), (2, 5, 7, 3),
                                   (1, 3, 2, 20), (2, 3, 4, 16)])
def test_max_pool_kernels_equal_tf_ops_in_values_and_gradients(shape):
    ops = load_batch_norm_relu_kernel()
    rng = np.random.default_rng(11)
    x = tf.constant(rng.normal(size=shape), tf.float32)
    gamma = tf.constant(rng.uniform(0.5, 1.5, shape[-1]), tf.float32)
    beta = tf.constant(rng.uniform(-0.5, 0.5, shape[-1]), tf.float32)
    weights = tf.constant(rng.normal(size=(shape[0], shape[1] // 2, shape[2] // 2, shape[3])),
                          tf.float32)
    with tf.GradientTape() as tape:
        tape.watch([x, gamma, beta])
        expected = tf_batch_norm_relu_max_pool(x, gamma, beta)
        loss = tf.reduce_sum(expected[0] * weights)
    expected_gradients = tape.gradient(loss, [x, gamma, beta])
    p, mean, variance = ops.batch_norm_relu_max_pool(x, gamma, beta, epsilon=1e-3)
    for ours, theirs in zip((p, mean, variance), expected, strict=True):
        np.testing.assert_allclose(np.array(ours), np.array(theirs), atol=1e-5)
    inv_std = fused_batch_norm_relu._inv_std(x, variance, 1e-3)
    gradients = ops.batch_norm_relu_max_pool_grad(weights, x, gamma, beta, mean, inv_std)
    for ours, theirs in zip(gradients, expected_gradients, strict=True):
        np.testing.assert_allclose(np.array(ours), np.array(theirs), atol=1e-5)


@pytest.mark.parametrize("dtype", [tf.float32, tf.bfloat16])
@pytest.mark.parametrize("channels", [16, 3])
def test_max_pool_gradient_goes_to_the_first_maximum_of_each_window(dtype, channels):
    """Ties (equal values in a window): the first in row-major order takes the gradient, as
    in TF's MaxPoolGrad; the values tie exactly here in both float32 and bfloat16."""
    ops = load_batch_norm_relu_kernel()
    windows = np.array([[1.0, 3.0, 2.0, 2.0], [3.0, -2.0, 2.0, 0.5]])  # two windows, tied
    x32 = tf.constant(np.repeat(windows[None, :, :, None], channels, axis=-1), tf.float32)
    x = tf.cast(x32, dtype)
    gamma = tf.ones(channels)
    beta = tf.constant(np.linspace(-0.2, 0.2, channels), tf.float32)
    dp = tf.ones((1, 1, 2, channels))
    with tf.GradientTape() as tape:
        tape.watch(x32)
        expected_p, mean, variance = tf_batch_norm_relu_max_pool(x32, gamma, beta)
        loss = tf.reduce_sum(expected_p * dp)
    expected_dx = np.array(tape.gradient(loss, x32))
    inv_std = fused_batch_norm_relu._inv_std(x32, variance, 1e-3)
    dx, _, _ = ops.batch_norm_relu_max_pool_grad(tf.cast(dp, dtype), x, gamma, beta, mean,
                                                 inv_std)
    np.testing.assert_allclose(np.array(tf.cast(dx, tf.float32)), expected_dx, atol=2e-2)


def test_max_pool_kernel_in_bfloat16_matches_tf_ops_to_one_rounding():
    ops = load_batch_norm_relu_kernel()
    rng = np.random.default_rng(12)
    x = tf.cast(rng.normal(size=(4, 8, 6, 32)), tf.bfloat16)
    gamma = rng.uniform(0.5, 1.5, 32).astype("float32")
    beta = rng.uniform(-0.5, 0.5, 32).astype("float32")
    p, _, _ = ops.batch_norm_relu_max_pool(x, gamma, beta, epsilon=1e-3)
    expected, _, _ = tf_batch_norm_relu_max_pool(tf.cast(x, tf.float32), gamma, beta)
    assert p.dtype == tf.bfloat16 and p.shape == (4, 4, 3, 32)
    np.testing.assert_allclose(np.array(tf.cast(p, tf.float32)), np.array(expected),
                               rtol=2 ** -8, atol=1e-5)


@pytest.mark.parametrize("shape", [(2, 1, 4, 16), (2, 4, 1, 3)])
def test_max_pool_kernels_on_images_too_small_for_one_window(shape):
    """Height or width 1: no window, so an empty output and no gradient (TF's oneDNN
    MaxPool refuses these shapes)."""
    ops = load_batch_norm_relu_kernel()
    rng = np.random.default_rng(15)
    x = tf.constant(rng.normal(size=shape), tf.float32)
    ones = tf.ones(shape[-1])
    p, mean, variance = ops.batch_norm_relu_max_pool(x, ones, ones, epsilon=1e-3)
    assert p.shape == (shape[0], shape[1] // 2, shape[2] // 2, shape[3])
    np.testing.assert_allclose(np.array(mean), np.array(x).mean((0, 1, 2)), rtol=1e-5)
    dp = tf.zeros(p.shape)
    dx, dgamma, dbeta = ops.batch_norm_relu_max_pool_grad(dp, x, ones, ones, mean, ones)
    assert dx.shape == shape
    for gradient in (dx, dgamma, dbeta):
        np.testing.assert_array_equal(np.array(gradient), 0.0)


def test_max_pool_kernels_reject_bad_shapes():
    ops = load_batch_norm_relu_kernel()
    c = tf.ones(4)
    with pytest.raises(tf.errors.InvalidArgumentError, match="4-D"):
        ops.batch_norm_relu_max_pool(tf.ones((2, 3, 4)), c, c, epsilon=1e-3)
    with pytest.raises(tf.errors.InvalidArgumentError, match="pooled shape"):
        ops.batch_norm_relu_max_pool_grad(tf.ones((2, 2, 2, 4)), tf.ones((2, 6, 4, 4)), c, c,
                                          c, c)


def pooled_pair(policy):
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        layer, reference = built_pair(input_shape=(2, 6, 5, 16), momentum=0.9)
        return layer, reference, keras.layers.MaxPooling2D(2)
    finally:
        keras.mixed_precision.set_global_policy(previous)


def test_call_then_pool_equals_the_layer_then_max_pooling(kernel_or_not):
    layer, reference, pool = pooled_pair("float32")
    x = random_inputs((2, 6, 5, 16), seed=13, low=-2.0, high=3.0)
    assert_same_values_and_gradients(
        lambda x: layer.call_then_pool(x, pool, training=True),
        lambda x: pool(reference(x, training=True)),
        [x], layer.trainable_variables, reference.trainable_variables)
    np.testing.assert_allclose(layer.moving_mean, reference.layers[0].moving_mean, atol=1e-6)
    np.testing.assert_allclose(layer.moving_variance, reference.layers[0].moving_variance,
                               atol=1e-5)


def test_call_then_pool_in_mixed_bfloat16_equals_the_layers_up_to_near_ties():
    """In bfloat16 two elements of a window can round to one value in one implementation
    and not in the other, so the pooling gradient can go to the other element of that
    window: the gradient then differs in those two elements, and its sum over the window
    stays the same."""
    layer, reference, pool = pooled_pair("mixed_bfloat16")
    x = random_inputs((2, 6, 5, 16), seed=13, low=-2.0, high=3.0)
    out, grads = values_and_gradients(
        lambda x: tf.cast(layer.call_then_pool(x, pool, training=True), tf.float32), [x],
        layer.trainable_variables)
    expected_out, expected = values_and_gradients(
        lambda x: tf.cast(pool(reference(x, training=True)), tf.float32), [x],
        reference.trainable_variables)
    np.testing.assert_allclose(out, expected_out, rtol=2 ** -7, atol=1e-2)
    dx, expected_dx = grads[0], expected[0]
    assert np.mean(np.abs(dx - expected_dx) <= 2e-2) >= 0.99
    window_sums = [4 * np.array(tf.nn.avg_pool2d(g, 2, 2, "VALID")) for g in (dx, expected_dx)]
    np.testing.assert_allclose(window_sums[0], window_sums[1], atol=3e-2)
    for ours, theirs in zip(grads[1:], expected[1:], strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=2e-2, atol=5e-2)


def test_call_then_pool_uses_one_kernel_op_only_for_a_2x2_max_pooling():
    layer, _ = built_pair(input_shape=(2, 6, 6, 16))

    def op_kinds(pool):
        graph = tf.function(lambda x: layer.call_then_pool(x, pool, training=True)
                            ).get_concrete_function(tf.TensorSpec((2, 6, 6, 16))).graph
        return {op.type for op in graph.get_operations()}

    assert "BatchNormReluMaxPool" in op_kinds(keras.layers.MaxPooling2D(2))
    assert "MaxPool" not in op_kinds(keras.layers.MaxPooling2D(2))
    for other in (keras.layers.MaxPooling2D(3), keras.layers.MaxPooling2D(2, padding="same"),
                  keras.layers.AveragePooling2D(2)):
        kinds = op_kinds(other)
        assert "BatchNormReluMaxPool" not in kinds and "BatchNormRelu" in kinds
