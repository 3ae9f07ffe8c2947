"""The AMX weight gradient of 3x3 convolutions: the op against TF's float64
Conv2DBackpropFilter (the thin path and the general one), its checks, and `conv3x3_same`,
`DownSampleBlock` and the SSD prediction layers with and without it."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.layers.class_predictor import ClassPredictor
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


# (N, H, W, C_in, C_out). The thin path (3 -> 16, or multiples of 16 of both with a width
# that is a multiple of 16, at least 32 unless C_out is 16): odd N (the last image pairs
# with zeros), heights below, at and across the kernel's 16-row chunks, widths of one to
# four 16-pixel blocks, one to four 16-channel blocks in and out. The general path (a
# multiple of 16 input channels): 1x1 to 33x20 maps, widths that are not multiples of 16,
# output channels below, at and above 16 and not multiples of it, a width of 16 with 32
# output channels, odd N, one and several 16-channel input blocks.
SHAPES = [(4, 16, 16, 3, 16), (3, 20, 32, 3, 16), (1, 1, 16, 3, 16), (5, 7, 32, 16, 16),
          (2, 33, 48, 16, 16), (1, 1, 16, 16, 16), (6, 16, 16, 16, 16),
          (3, 18, 32, 48, 32), (2, 5, 64, 16, 64), (1, 17, 32, 64, 16), (2, 17, 16, 16, 32),
          (3, 1, 1, 128, 20), (2, 2, 3, 32, 16), (5, 7, 9, 16, 17), (4, 4, 4, 128, 128),
          (1, 8, 8, 64, 1), (2, 16, 16, 64, 20), (7, 5, 6, 48, 33), (2, 33, 20, 16, 16),
          (4, 32, 32, 32, 64)]


@pytest.mark.parametrize("shape", SHAPES)
def test_op_equals_tf_weight_gradient_in_float64(ops, shape):
    x = bf16_normal(shape[:4], 0)
    dy = bf16_normal(shape[:3] + shape[4:], 1)
    ours = ops.conv3x3_weight_gradient(x, dy).numpy()
    reference = reference_weight_gradient(x, dy)
    assert ours.shape == (3, 3, shape[3], shape[4]) and ours.dtype == np.float32
    # Products of bfloat16 values are exact in float32; only the float32 sums round.
    np.testing.assert_allclose(ours, reference, rtol=0, atol=2e-6 * np.abs(reference).max())


def test_op_of_an_empty_batch_is_zero(ops):
    ours = ops.conv3x3_weight_gradient(tf.zeros((0, 4, 4, 32), tf.bfloat16),
                                       tf.zeros((0, 4, 4, 20), tf.bfloat16))
    np.testing.assert_array_equal(ours.numpy(), np.zeros((3, 3, 32, 20), np.float32))


@pytest.mark.parametrize("x_shape, dy_shape", [
    ((8, 40, 32, 16), (8, 40, 32, 16)),   # the thin path: 16 fixed blocks
    ((9, 20, 32, 32), (9, 20, 32, 48)),   # the thin path, several channel blocks
    ((9, 12, 10, 16), (9, 12, 10, 20)),   # the general path: its pairs split over 4 items
    ((32, 4, 4, 128), (32, 4, 4, 128))])  # the general path: 64 items
def test_op_is_deterministic(ops, x_shape, dy_shape):
    x, dy = bf16_normal(x_shape, 2), bf16_normal(dy_shape, 3)
    first = ops.conv3x3_weight_gradient(x, dy).numpy()
    for _ in range(3):
        np.testing.assert_array_equal(ops.conv3x3_weight_gradient(x, dy).numpy(), first)


@pytest.mark.parametrize("x_shape, dy_shape, words", [
    ((2, 8, 16, 8), (2, 8, 16, 16), "multiple of 16 input channels"),
    ((2, 8, 16, 3), (2, 8, 16, 32), "3 input and 16 output channels"),
    ((2, 8, 24, 3), (2, 8, 24, 16), "width that is a multiple of 16"),
    ((2, 8, 16, 16), (2, 8, 16, 0), "multiple of 16 input channels"),
    ((1, 1, 4112, 16), (1, 1, 4112, 16), "at most 4096"),
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
    x_wide, dy_wide = bf16_normal((8, 8, 8, 64), 12), bf16_normal((8, 8, 8, 20), 13)
    alone = (tf.nn.conv2d(x, w, 1, "SAME").numpy(), tf.matmul(a, b).numpy())

    @tf.function
    def mixed():
        results = []
        for _ in range(4):
            results += [tf.nn.conv2d(x, w, 1, "SAME"), tf.matmul(a, b),
                        ops.conv3x3_weight_gradient(x, dy),
                        ops.conv3x3_weight_gradient(x_wide, dy_wide)]
        return results

    results = mixed()
    for i in range(4):
        np.testing.assert_array_equal(results[4 * i].numpy(), alone[0])
        np.testing.assert_array_equal(results[4 * i + 1].numpy(), alone[1])
        np.testing.assert_array_equal(results[4 * i + 2].numpy(), results[2].numpy())
        np.testing.assert_array_equal(results[4 * i + 3].numpy(), results[3].numpy())


def built_conv(filters=16, input_channels=3, **kwargs):
    conv = keras.layers.Conv2D(filters, 3, padding="same", dtype="mixed_bfloat16", **kwargs)
    conv.build((None, 32, 32, input_channels))
    return conv


@pytest.mark.parametrize("case, expected", [
    ("thin", True), ("16 in", True), ("float32 input", False), ("32 in", True),
    ("32 in, 20 filters", True), ("32 in, a 64x64 map", True),
    ("32 in, 20 filters, a 64x64 map", False), ("32 filters", False),
    ("16 in, 32 filters", True), ("width 24", False), ("16 in, width 24", True),
    ("unknown width", False), ("unknown height", False), ("stride 2", False),
    ("valid padding", False), ("disabled", False)])
def test_uses_amx_only_where_the_kernel_applies(ops, monkeypatch, case, expected):
    conv, x = built_conv(), tf.zeros((2, 32, 32, 3), tf.bfloat16)
    if case == "16 in":
        conv, x = built_conv(input_channels=16), tf.zeros((2, 32, 32, 16), tf.bfloat16)
    elif case == "float32 input":
        x = tf.zeros((2, 32, 32, 3))
    elif case == "32 in":
        conv, x = built_conv(input_channels=32), tf.zeros((2, 32, 32, 32), tf.bfloat16)
    elif case == "32 in, 20 filters":
        conv, x = built_conv(20, input_channels=32), tf.zeros((2, 3, 5, 32), tf.bfloat16)
    elif case == "32 in, a 64x64 map":
        conv, x = built_conv(input_channels=32), tf.zeros((2, 64, 64, 32), tf.bfloat16)
    elif case == "32 in, 20 filters, a 64x64 map":
        conv, x = built_conv(20, input_channels=32), tf.zeros((2, 64, 64, 32), tf.bfloat16)
    elif case == "32 filters":
        conv = built_conv(filters=32)
    elif case == "16 in, 32 filters":
        conv, x = built_conv(32, input_channels=16), tf.zeros((2, 32, 32, 16), tf.bfloat16)
    elif case == "width 24":
        x = tf.zeros((2, 32, 24, 3), tf.bfloat16)
    elif case == "16 in, width 24":
        conv, x = built_conv(input_channels=16), tf.zeros((2, 32, 24, 16), tf.bfloat16)
    elif case == "unknown width":
        x = tf.TensorSpec((2, 32, None, 3), tf.bfloat16)  # as a traced input
    elif case == "unknown height":
        conv, x = built_conv(input_channels=16), tf.TensorSpec((2, None, 8, 16), tf.bfloat16)
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


@pytest.mark.parametrize("shape, filters", [((3, 12, 32, 3), 16), ((3, 12, 32, 16), 16),
                                           ((3, 5, 7, 32), 20)])
@pytest.mark.parametrize("kernel_dtype", [tf.float32, tf.bfloat16])
def test_conv3x3_same_equals_tf_values_and_gradients(ops, shape, filters, kernel_dtype):
    x = bf16_normal(shape, 9)
    kernel = tf.cast(np.random.default_rng(10).standard_normal((3, 3, shape[-1], filters))
                     * 0.2, kernel_dtype)
    weights = bf16_normal(shape[:3] + (filters,), 11)

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


@pytest.mark.parametrize("filters, images_shape, convolved_channels", [
    (16, (4, 32, 32, 3), [3, 16]),   # TinySSD's first block: the thin path
    (32, (4, 64, 64, 16), [16, 32]),  # its second block: the thin path, 2 output blocks
    (64, (6, 8, 8, 32), [32, 64]),   # a later block on a small map: the general path
])
@pytest.mark.parametrize("graph", [False, True])
def test_down_sample_block_trains_as_with_tf_weight_gradients(ops, monkeypatch, graph, filters,
                                                              images_shape, convolved_channels):
    """A TinySSD block in mixed_bfloat16: the AMX path runs for both convolutions, with the
    same outputs, input and batch-norm gradients as with TF's weight gradient, and kernel
    gradients equal to bfloat16 rounding (both are float32 sums rounded to bfloat16)."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        block = DownSampleBlock(filters)
        block.build((None,) + images_shape[1:])
    finally:
        keras.mixed_precision.set_global_policy(previous)
    images = tf.random.stateless_normal(images_shape, seed=(1, 2))
    calls = []
    monkeypatch.setattr("kerasnotes.layers.down_sample_block.conv3x3_same",
                        lambda x, k: calls.append(x.shape[-1]) or conv3x3_amx.conv3x3_same(x, k))
    results = {}
    for enabled in (True, False):
        monkeypatch.setitem(conv3x3_amx.ENABLED, "amx_weight_gradient", enabled)
        step = tf.function(block_training_step) if graph else block_training_step
        results[enabled] = step(block, images)
    assert calls == convolved_channels  # the AMX path ran (and only when enabled)
    (y_amx, g_amx), (y_tf, g_tf) = results[True], results[False]
    np.testing.assert_array_equal(y_amx.numpy(), y_tf.numpy())
    for variable, a, b in zip(block.trainable_variables, g_amx, g_tf, strict=True):
        if "kernel" in variable.path:
            scale = np.abs(b.numpy()).max()
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=2.0 ** -7, atol=2.0 ** -7 * scale)
        else:
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=variable.path)


@pytest.mark.parametrize("graph", [False, True])
def test_prediction_layer_trains_as_with_tf_weight_gradients(ops, monkeypatch, graph):
    """An SSD class predictor on a 4x4 map of 128 channels in mixed_bfloat16: in training
    the AMX path runs with the outputs of Keras' Conv2D, a kernel gradient equal to TF's to
    bfloat16 rounding and the bias gradient summed in float32, rounded once; in inference
    it is Keras' Conv2D."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        predictor = ClassPredictor(4, 4)
        predictor.build((None, 4, 4, 128))
    finally:
        keras.mixed_precision.set_global_policy(previous)
    predictor.conv.bias.assign(np.linspace(-1, 1, 20, dtype="float32"))
    features = tf.cast(tf.random.stateless_normal((5, 4, 4, 128), seed=(5, 6)), tf.bfloat16)
    calls = []
    monkeypatch.setattr("kerasnotes.layers.class_predictor.conv3x3_same",
                        lambda x, k: calls.append(x.shape) or conv3x3_amx.conv3x3_same(x, k))

    def step(features):
        with tf.GradientTape() as tape:
            y = predictor(features, training=True)
            loss = tf.reduce_sum(tf.cast(y, tf.float32) ** 2)
        return y, tape.gradient(loss, predictor.trainable_variables)

    results = {}
    for enabled in (True, False):
        monkeypatch.setitem(conv3x3_amx.ENABLED, "amx_weight_gradient", enabled)
        results[enabled] = (tf.function(step) if graph else step)(features)
    assert calls == [(5, 4, 4, 128)]
    (y_amx, (dw_amx, db_amx)), (y_tf, (dw_tf, db_tf)) = results[True], results[False]
    np.testing.assert_array_equal(y_amx.numpy(), y_tf.numpy())
    scale = np.abs(dw_tf.numpy()).max()
    np.testing.assert_allclose(dw_amx.numpy(), dw_tf.numpy(), rtol=2.0 ** -7,
                               atol=2.0 ** -7 * scale)
    # dy = 2 y exactly (in bfloat16); its sum over the batch and the pixels in float64.
    # Under mixed_bfloat16 the layer reads its bias in bfloat16, so the bias gradient is
    # that sum rounded once to bfloat16 (then to the float32 variable).
    exact = (2.0 * tf.cast(y_amx, tf.float64)).numpy().sum(axis=(0, 1, 2))
    # (Within one bfloat16 rounding: the float32 sum may sit on the other side of a
    # rounding boundary than the float64 one.)
    np.testing.assert_allclose(db_amx.numpy(), exact, rtol=2.0 ** -8, atol=0)
    # TF's bfloat16 running sum, for comparison: off by bfloat16 steps of the largest terms.
    np.testing.assert_allclose(db_tf.numpy(), exact, rtol=2.0 ** -4,
                               atol=2.0 ** -6 * np.abs(exact).max())
    inference = predictor(features)
    assert calls == [(5, 4, 4, 128)]  # not in inference
    if not graph:  # (a graph fuses the convolution and the bias: one rounding, not two)
        np.testing.assert_array_equal(inference.numpy(), y_tf.numpy())


def test_add_bias_equals_keras_bias_add_with_a_float32_bias_gradient():
    y = bf16_normal((3, 4, 5, 20), 14)
    bias = tf.constant(np.linspace(-2, 2, 20), tf.float32)
    weights = bf16_normal((3, 4, 5, 20), 15)
    with tf.GradientTape() as tape:
        tape.watch([y, bias])
        out = conv3x3_amx.add_bias(y, bias)
        loss = tf.reduce_sum(tf.cast(out, tf.float32) * tf.cast(weights, tf.float32))
    dy, db = tape.gradient(loss, [y, bias])
    np.testing.assert_array_equal(out.numpy(), (y + tf.cast(bias, tf.bfloat16)).numpy())
    np.testing.assert_array_equal(dy.numpy(), weights.numpy())
    exact = tf.cast(weights, tf.float64).numpy().sum(axis=(0, 1, 2))
    assert db.dtype == tf.float32
    np.testing.assert_allclose(db.numpy(), exact, rtol=1e-6, atol=1e-6 * np.abs(exact).max())
