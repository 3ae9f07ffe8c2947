"""The AMX weight gradient of thin 3x3 convolutions: the op against TF's float64
Conv2DBackpropFilter, its checks, and `conv3x3_same` / `DownSampleBlock` with and without it."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.layers.down_sample_block import DownSampleBlock
from kerasnotes.ops import conv3x3_amx, custom_op_build
from kerasnotes.ops.conv_weight_gradient_kernel import load_conv_weight_gradient_kernel


@pytest.fixture(scope="session")
def ops():
    """The kernel's ops (skipped without a C++ compiler or without AMX here)."""
    if custom_op_build.compiler() is None:
        pytest.skip("no C++ compiler")
    module = load_conv_weight_gradient_kernel()
    if not bool(module.conv3x3_weight_gradient_available()):
        pytest.skip("this CPU offers no AMX")
    return module


def bf16_normal(shape, seed):
    return tf.cast(np.random.default_rng(seed).standard_normal(shape), tf.bfloat16)


def reference_weight_gradient(x, dy):
    """TF's Conv2DBackpropFilter in float64 on the same bfloat16 values."""
    return tf.raw_ops.Conv2DBackpropFilter(
        input=tf.cast(x, tf.float64), filter_sizes=[3, 3, x.shape[-1], dy.shape[-1]],
        out_backprop=tf.cast(dy, tf.float64), strides=[1, 1, 1, 1], padding="SAME").numpy()


# (N, H, W, C_in): odd N (the last image pairs with zeros), heights below, at and across
# the kernel's 16-row chunks, widths of one to three 16-pixel blocks.
SHAPES = [(4, 16, 16, 3), (3, 20, 32, 3), (1, 1, 16, 3), (5, 7, 32, 16), (2, 33, 48, 16),
          (1, 1, 16, 16), (6, 16, 16, 16)]


@pytest.mark.parametrize("shape", SHAPES)
def test_op_equals_tf_weight_gradient_in_float64(ops, shape):
    x = bf16_normal(shape, 0)
    dy = bf16_normal(shape[:3] + (16,), 1)
    ours = ops.conv3x3_weight_gradient(x, dy).numpy()
    reference = reference_weight_gradient(x, dy)
    assert ours.shape == (3, 3, shape[3], 16) and ours.dtype == np.float32
    # Products of bfloat16 values are exact in float32; only the float32 sums round.
    np.testing.assert_allclose(ours, reference, rtol=0, atol=2e-6 * np.abs(reference).max())


def test_op_is_deterministic(ops):
    x, dy = bf16_normal((8, 40, 32, 16), 2), bf16_normal((8, 40, 32, 16), 3)
    first = ops.conv3x3_weight_gradient(x, dy).numpy()
    for _ in range(3):
        np.testing.assert_array_equal(ops.conv3x3_weight_gradient(x, dy).numpy(), first)


@pytest.mark.parametrize("x_shape, dy_shape, words", [
    ((2, 8, 16, 8), (2, 8, 16, 16), "3 or 16 input and 16 output channels"),
    ((2, 8, 16, 16), (2, 8, 16, 32), "3 or 16 input and 16 output channels"),
    ((2, 8, 24, 16), (2, 8, 24, 16), "multiple of 16"),
    ((2, 8, 16, 16), (2, 9, 16, 16), "does not match"),
])
def test_op_names_a_bad_shape(ops, x_shape, dy_shape, words):
    with pytest.raises(tf.errors.InvalidArgumentError, match=words):
        ops.conv3x3_weight_gradient(tf.zeros(x_shape, tf.bfloat16), tf.zeros(dy_shape, tf.bfloat16))


def test_oneDNN_results_are_unchanged_around_the_op(ops):
    """The op saves and restores the threads' tile configuration: oneDNN's AMX
    convolutions and matmuls before, after and beside it (one graph, parallel ops) give the
    same results as on their own."""
    x = bf16_normal((8, 32, 32, 16), 4)
    w = bf16_normal((3, 3, 16, 32), 5)
    a, b = bf16_normal((256, 256), 6), bf16_normal((256, 256), 7)
    dy = bf16_normal((8, 32, 32, 16), 8)
    alone = (tf.nn.conv2d(x, w, 1, "SAME").numpy(), tf.matmul(a, b).numpy())

    @tf.function
    def mixed():
        results = []
        for _ in range(4):
            results += [tf.nn.conv2d(x, w, 1, "SAME"), tf.matmul(a, b),
                        ops.conv3x3_weight_gradient(x, dy)]
        return results

    results = mixed()
    for i in range(4):
        np.testing.assert_array_equal(results[3 * i].numpy(), alone[0])
        np.testing.assert_array_equal(results[3 * i + 1].numpy(), alone[1])
        np.testing.assert_array_equal(results[3 * i + 2].numpy(), results[2].numpy())


def built_conv(filters=16, input_channels=3, **kwargs):
    conv = keras.layers.Conv2D(filters, 3, padding="same", dtype="mixed_bfloat16", **kwargs)
    conv.build((None, 32, 32, input_channels))
    return conv


@pytest.mark.parametrize("case, expected", [
    ("thin", True), ("16 in", True), ("float32 input", False), ("32 in", False),
    ("32 filters", False), ("width 24", False), ("unknown width", False), ("stride 2", False),
    ("valid padding", False), ("disabled", False)])
def test_uses_amx_only_where_the_kernel_applies(ops, monkeypatch, case, expected):
    conv, x = built_conv(), tf.zeros((2, 32, 32, 3), tf.bfloat16)
    if case == "16 in":
        conv, x = built_conv(input_channels=16), tf.zeros((2, 32, 32, 16), tf.bfloat16)
    elif case == "float32 input":
        x = tf.zeros((2, 32, 32, 3))
    elif case == "32 in":
        conv, x = built_conv(input_channels=32), tf.zeros((2, 32, 32, 32), tf.bfloat16)
    elif case == "32 filters":
        conv = built_conv(filters=32)
    elif case == "width 24":
        x = tf.zeros((2, 32, 24, 3), tf.bfloat16)
    elif case == "unknown width":
        x = tf.TensorSpec((2, 32, None, 3), tf.bfloat16)  # as a traced input
    elif case == "stride 2":
        conv = built_conv(strides=2)
    elif case == "valid padding":
        conv = keras.layers.Conv2D(16, 3, padding="valid", dtype="mixed_bfloat16")
        conv.build((None, 32, 32, 3))
    elif case == "disabled":
        monkeypatch.setitem(conv3x3_amx.ENABLED, "amx_weight_gradient", False)
    assert conv3x3_amx.uses_amx_weight_gradient(conv, x) is expected


def test_first_asked_while_tracing(ops, monkeypatch):
    monkeypatch.setattr(conv3x3_amx, "_KERNEL", {})
    conv = built_conv()
    decided = tf.function(lambda x: tf.constant(conv3x3_amx.uses_amx_weight_gradient(conv, x)))
    assert bool(decided(tf.zeros((2, 32, 32, 3), tf.bfloat16)))


def test_no_kernel_means_no_amx(monkeypatch):
    monkeypatch.setitem(conv3x3_amx._KERNEL, "ops", None)
    assert not conv3x3_amx.uses_amx_weight_gradient(built_conv(), tf.zeros((2, 32, 32, 3),
                                                                            tf.bfloat16))
    with pytest.raises(RuntimeError, match="unavailable"):
        conv3x3_amx.conv3x3_same(tf.zeros((2, 32, 32, 3), tf.bfloat16), tf.zeros((3, 3, 3, 16)))


@pytest.mark.parametrize("channels", [3, 16])
@pytest.mark.parametrize("kernel_dtype", [tf.float32, tf.bfloat16])
def test_conv3x3_same_equals_tf_values_and_gradients(ops, channels, kernel_dtype):
    x = bf16_normal((3, 12, 32, channels), 9)
    kernel = tf.cast(np.random.default_rng(10).standard_normal((3, 3, channels, 16)) * 0.2,
                     kernel_dtype)
    weights = bf16_normal((3, 12, 32, 16), 11)

    def loss_and_gradients(convolution):
        with tf.GradientTape() as tape:
            tape.watch([x, kernel])
            y = convolution(x, kernel)
            loss = tf.reduce_sum(tf.cast(y, tf.float32) * tf.cast(weights, tf.float32))
        return (y,) + tuple(tape.gradient(loss, [x, kernel]))

    y, dx, dw = loss_and_gradients(conv3x3_amx.conv3x3_same)
    y_tf, dx_tf, dw_tf = loss_and_gradients(
        lambda x, k: tf.nn.conv2d(x, tf.cast(k, x.dtype), 1, "SAME"))
    np.testing.assert_array_equal(y.numpy(), y_tf.numpy())
    np.testing.assert_array_equal(dx.numpy(), dx_tf.numpy())
    assert dw.dtype == kernel_dtype
    # The weight gradient as float64 sums of the same bfloat16 dy, rounded to the kernel's
    # dtype: ours matches it to float32 rounding, then that dtype's.
    dy = tf.cast(weights, tf.bfloat16)
    exact = reference_weight_gradient(x, dy)
    tolerance = 2e-6 if kernel_dtype == tf.float32 else 2.0 ** -8
    np.testing.assert_allclose(tf.cast(dw, tf.float64).numpy(), exact, rtol=tolerance,
                               atol=tolerance * np.abs(exact).max())
    np.testing.assert_allclose(tf.cast(dw_tf, tf.float64).numpy(), exact,
                               rtol=2.0 ** -7, atol=2.0 ** -7 * np.abs(exact).max())


def block_training_step(block, images):
    with tf.GradientTape() as tape:
        y = block(images, training=True)
        loss = tf.reduce_sum(tf.cast(y, tf.float32) ** 2)
    return y, tape.gradient(loss, block.trainable_variables)


@pytest.mark.parametrize("graph", [False, True])
def test_down_sample_block_trains_as_with_tf_weight_gradients(ops, monkeypatch, graph):
    """TinySSD's first block in mixed_bfloat16: the same outputs, input and batch-norm
    gradients as with TF's weight gradient, and kernel gradients equal to bfloat16
    rounding (both are float32 sums rounded to bfloat16)."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        block = DownSampleBlock(16)
        block.build((None, 32, 32, 3))
    finally:
        keras.mixed_precision.set_global_policy(previous)
    images = tf.random.stateless_normal((4, 32, 32, 3), seed=(1, 2))
    calls = []
    monkeypatch.setattr("kerasnotes.layers.down_sample_block.conv3x3_same",
                        lambda x, k: calls.append(x.shape[-1]) or conv3x3_amx.conv3x3_same(x, k))
    results = {}
    for enabled in (True, False):
        monkeypatch.setitem(conv3x3_amx.ENABLED, "amx_weight_gradient", enabled)
        step = tf.function(block_training_step) if graph else block_training_step
        results[enabled] = step(block, images)
    assert calls == [3, 16]  # the AMX path ran for both convolutions (and only when enabled)
    (y_amx, g_amx), (y_tf, g_tf) = results[True], results[False]
    np.testing.assert_array_equal(y_amx.numpy(), y_tf.numpy())
    for variable, a, b in zip(block.trainable_variables, g_amx, g_tf, strict=True):
        if "kernel" in variable.path:
            scale = np.abs(b.numpy()).max()
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=2.0 ** -7, atol=2.0 ** -7 * scale)
        else:
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=variable.path)
