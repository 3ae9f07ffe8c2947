"""The CNN blocks of the notes: VGG, NiN, Inception, residual, dense and transition blocks.

Each block goes through the shared layer checks and is compared, in value and gradients,
with the same block written with plain Keras layers (the weights copied from ours).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.layers.dense_block import DenseBlock
from kerasnotes.layers.inception import Inception
from kerasnotes.layers.nin_block import NiNBlock
from kerasnotes.layers.residual import Residual
from kerasnotes.layers.transition_block import TransitionBlock
from kerasnotes.layers.vgg_block import VGGBlock
from tests.test_case import assert_same_values_and_gradients, random_inputs, run_layer_checks

L = keras.layers


# ---------------------------------------------------------------- the plain-Keras references
# Layers are named "<prefix><our sublayer name>" ("block1_conv1", ...), so weights are copied
# by name: our weight "block1/conv1/kernel" goes to the plain "block1_conv1/kernel".

def plain_vgg_block(x, num_convs, filters, prefix=""):
    for i in range(num_convs):
        x = L.Conv2D(filters, 3, padding="same", activation="relu",
                     name=f"{prefix}conv{i + 1}")(x)
    return L.MaxPooling2D(2, 2, name=f"{prefix}pool")(x)


def plain_nin_block(x, filters, kernel_size, strides, padding, prefix=""):
    # As a Keras user writes it: "same" where it equals `padding` zeros on each side.
    conv_padding = "valid"
    if strides == 1 and kernel_size == 2 * padding + 1:
        conv_padding = "same"
    elif padding:
        x = L.ZeroPadding2D(padding)(x)
    x = L.Conv2D(filters, kernel_size, strides=strides, padding=conv_padding,
                 activation="relu", name=f"{prefix}conv1")(x)
    x = L.Conv2D(filters, 1, activation="relu", name=f"{prefix}conv2")(x)
    return L.Conv2D(filters, 1, activation="relu", name=f"{prefix}conv3")(x)


def plain_inception(x, n1, n2, n3, n4, prefix=""):
    p1 = L.Conv2D(n1, 1, activation="relu", name=f"{prefix}p1_conv")(x)
    p2 = L.Conv2D(n2[0], 1, activation="relu", name=f"{prefix}p2_conv1")(x)
    p2 = L.Conv2D(n2[1], 3, padding="same", activation="relu", name=f"{prefix}p2_conv2")(p2)
    p3 = L.Conv2D(n3[0], 1, activation="relu", name=f"{prefix}p3_conv1")(x)
    p3 = L.Conv2D(n3[1], 5, padding="same", activation="relu", name=f"{prefix}p3_conv2")(p3)
    p4 = L.MaxPooling2D(3, 1, padding="same")(x)
    p4 = L.Conv2D(n4, 1, activation="relu", name=f"{prefix}p4_conv")(p4)
    return L.Concatenate()([p1, p2, p3, p4])


def plain_residual(x, filters, use_1x1conv, strides, prefix=""):
    if strides == 1:
        y = L.Conv2D(filters, 3, padding="same", name=f"{prefix}conv1")(x)
    else:  # the notes' padding 1 on every side
        y = L.Conv2D(filters, 3, strides=strides, name=f"{prefix}conv1")(L.ZeroPadding2D(1)(x))
    y = L.ReLU()(L.BatchNormalization(name=f"{prefix}bn1")(y))
    y = L.Conv2D(filters, 3, padding="same", name=f"{prefix}conv2")(y)
    y = L.BatchNormalization(name=f"{prefix}bn2")(y)
    if use_1x1conv:
        x = L.Conv2D(filters, 1, strides=strides, name=f"{prefix}shortcut")(x)
    return L.ReLU()(L.Add()([y, x]))


def plain_dense_block(x, num_convs, growth_rate, prefix=""):
    for i in range(num_convs):
        y = L.ReLU()(L.BatchNormalization(name=f"{prefix}bn{i + 1}")(x))
        y = L.Conv2D(growth_rate, 3, padding="same", name=f"{prefix}conv{i + 1}")(y)
        x = L.Concatenate()([x, y])
    return x


def plain_transition_block(x, filters, prefix=""):
    x = L.ReLU()(L.BatchNormalization(name=f"{prefix}bn")(x))
    x = L.Conv2D(filters, 1, name=f"{prefix}conv")(x)
    return L.AveragePooling2D(2, 2)(x)


def randomize_batch_norms(layer, seed=1):
    """Non-trivial gamma, beta and moving statistics, so inference-mode BN is not ~identity."""
    rng = np.random.default_rng(seed)
    for variable in layer.weights:
        name = variable.path.rsplit("/", 1)[-1]
        if name in ("gamma", "moving_variance"):
            variable.assign(rng.uniform(0.5, 1.5, variable.shape).astype("float32"))
        elif name in ("beta", "moving_mean"):
            variable.assign(rng.uniform(-0.5, 0.5, variable.shape).astype("float32"))


def weight_key(variable):
    *scopes, name = variable.path.split("/")
    return "_".join(scopes) + "/" + name


def copy_weights(source, plain):
    """Assigns every weight of `source` (our block or model) to the plain-Keras weight of the
    same name; returns the plain trainable variables in the order of
    `source.trainable_variables`."""
    by_key = {weight_key(v): v for v in plain.weights}
    assert sorted(by_key) == sorted(weight_key(v) for v in source.weights)
    for variable in source.weights:
        target = by_key[weight_key(variable)]
        assert tuple(target.shape) == tuple(variable.shape), variable.path
        target.assign(variable)
    return [by_key[weight_key(v)] for v in source.trainable_variables]


def assert_equals_plain(block, plain_fn, input_shape, *args, training=False):
    x = random_inputs(input_shape)
    block(x)  # build
    randomize_batch_norms(block)
    inputs = keras.Input(input_shape[1:])
    plain = keras.Model(inputs, plain_fn(inputs, *args, prefix=f"{block.name}_"))
    plain_variables = copy_weights(block, plain)
    assert plain.count_params() == block.count_params()
    assert_same_values_and_gradients(
        lambda t: block(t, training=training), lambda t: plain(t, training=training), [x],
        block.trainable_variables, plain_variables)


# ---------------------------------------------------------------------------- VGG block

def test_vgg_block_checks(tmp_path):
    run_layer_checks(VGGBlock(2, 8), (2, 9, 9, 3), tmp_path, expected_output_shape=(2, 4, 4, 8))


def test_vgg_block_equals_plain_keras():
    assert_equals_plain(VGGBlock(2, 6), plain_vgg_block, (2, 8, 8, 3), 2, 6)


def test_vgg_block_parameter_count():
    # VGG-11's third block (2, 256) on 128 channels, by hand:
    # 3*3*128*256 + 256 = 295168, 3*3*256*256 + 256 = 590080 -> 885248.
    block = VGGBlock(2, 256)
    block.build((None, 8, 8, 128))
    assert block.count_params() == 885248


# ---------------------------------------------------------------------------- NiN block

@pytest.mark.parametrize(
    "kernel_size, strides, padding, input_shape, output_shape",
    [
        (11, 4, 0, (2, 23, 23, 1), (2, 4, 4, 8)),  # "valid": floor((23 - 11) / 4) + 1 = 4
        (5, 1, 2, (2, 7, 7, 3), (2, 7, 7, 8)),  # "same"
        (3, 2, 1, (2, 8, 8, 3), (2, 4, 4, 8)),  # explicit symmetric padding
        (4, 1, 1, (2, 6, 6, 3), (2, 5, 5, 8)),  # even kernel: explicit padding
    ],
)
def test_nin_block_checks_and_padding(kernel_size, strides, padding, input_shape,
                                      output_shape, tmp_path):
    block = NiNBlock(8, kernel_size, strides, padding)
    run_layer_checks(block, input_shape, tmp_path, expected_output_shape=output_shape)


def nin_reference(block, x):
    """The notes' NiN block with TF's explicit padding: `padding` zeros on each side."""
    p = block.padding
    y = tf.nn.conv2d(x, block.conv1.kernel, block.strides, [[0, 0], [p, p], [p, p], [0, 0]])
    y = tf.nn.relu(y + block.conv1.bias)
    y = tf.nn.relu(tf.nn.conv2d(y, block.conv2.kernel, 1, "VALID") + block.conv2.bias)
    return tf.nn.relu(tf.nn.conv2d(y, block.conv3.kernel, 1, "VALID") + block.conv3.bias)


@pytest.mark.parametrize("kernel_size, strides, padding", [(11, 4, 0), (5, 1, 2), (3, 2, 1),
                                                           (4, 1, 1), (3, 3, 2)])
def test_nin_block_equals_explicitly_padded_convolutions(kernel_size, strides, padding):
    block = NiNBlock(5, kernel_size, strides, padding)
    x = random_inputs((2, 15, 15, 3))
    block(x)
    assert_same_values_and_gradients(block, lambda t: nin_reference(block, t), [x],
                                     block.trainable_variables, block.trainable_variables)


@pytest.mark.parametrize("kernel_size, strides, padding", [(11, 4, 0), (3, 2, 1)])
def test_nin_block_equals_plain_keras(kernel_size, strides, padding):
    block = NiNBlock(4, kernel_size, strides, padding)
    assert_equals_plain(block, plain_nin_block, (2, 15, 15, 3), 4, kernel_size, strides,
                        padding)


# ---------------------------------------------------------------------------- Inception

def test_inception_checks(tmp_path):
    run_layer_checks(Inception(4, (2, 6), (1, 3), 3), (2, 5, 5, 3), tmp_path,
                     expected_output_shape=(2, 5, 5, 4 + 6 + 3 + 3))


def test_inception_equals_plain_keras():
    assert_equals_plain(Inception(3, (2, 4), (2, 3), 2), plain_inception, (2, 6, 6, 3),
                        3, (2, 4), (2, 3), 2)


def test_inception_parameter_count():
    # GoogLeNet's first Inception (64, (96, 128), (16, 32), 32) on 192 channels, by hand:
    # 192*64+64 = 12352; 192*96+96 = 18528, 3*3*96*128+128 = 110720;
    # 192*16+16 = 3088, 5*5*16*32+32 = 12832; 192*32+32 = 6176 -> 163696.
    block = Inception(64, (96, 128), (16, 32), 32)
    block.build((None, 12, 12, 192))
    assert block.count_params() == 163696
    assert block.compute_output_shape((None, 12, 12, 192)) == (None, 12, 12, 256)


# ---------------------------------------------------------------------------- Residual

@pytest.mark.parametrize(
    "filters, use_1x1conv, strides, input_shape, output_shape",
    [
        (3, False, 1, (2, 6, 6, 3), (2, 6, 6, 3)),
        (8, True, 1, (2, 6, 6, 3), (2, 6, 6, 8)),
        (8, True, 2, (2, 6, 6, 3), (2, 3, 3, 8)),
        (8, True, 2, (2, 7, 7, 3), (2, 4, 4, 8)),  # ceil(7 / 2)
    ],
)
def test_residual_checks(filters, use_1x1conv, strides, input_shape, output_shape, tmp_path):
    run_layer_checks(Residual(filters, use_1x1conv, strides), input_shape, tmp_path,
                     expected_output_shape=output_shape)


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("filters, use_1x1conv, strides", [(3, False, 1), (6, True, 2)])
def test_residual_equals_plain_keras(filters, use_1x1conv, strides, training):
    assert_equals_plain(Residual(filters, use_1x1conv, strides), plain_residual,
                        (3, 6, 6, 3), filters, use_1x1conv, strides, training=training)


def residual_formula(block, x):
    """The notes' block in inference mode: y = relu(BN(conv(relu(BN(conv(x))))) + conv1x1(x)),
    with the 3x3 convolutions padded by one zero on every side (TF explicit padding)."""
    pad = [[0, 0], [1, 1], [1, 1], [0, 0]]

    def bn(layer, y):
        scale = layer.gamma / tf.sqrt(layer.moving_variance + layer.epsilon)
        return (y - layer.moving_mean) * scale + layer.beta

    y = tf.nn.conv2d(x, block.conv1.kernel, block.strides, pad) + block.conv1.bias
    y = tf.nn.relu(bn(block.bn1, y))
    y = bn(block.bn2, tf.nn.conv2d(y, block.conv2.kernel, 1, pad) + block.conv2.bias)
    shortcut = x
    if block.use_1x1conv:
        shortcut = tf.nn.conv2d(x, block.shortcut.kernel, block.strides, "VALID")
        shortcut = shortcut + block.shortcut.bias
    return tf.nn.relu(y + shortcut)


@pytest.mark.parametrize("size", [6, 7])
def test_residual_matches_the_notes_formula_with_symmetric_padding(size):
    block = Residual(4, use_1x1conv=True, strides=2)
    x = random_inputs((2, size, size, 3))
    block(x)
    randomize_batch_norms(block)
    np.testing.assert_allclose(np.array(block(x, training=False)),
                               np.array(residual_formula(block, x)), atol=1e-5, rtol=0)


def test_residual_parameter_count():
    # ResNet-18's first block of group 2: Residual(128, use_1x1conv=True, strides=2) on 64
    # channels, by hand: conv1 3*3*64*128+128 = 73856, bn1 4*128 = 512 (gamma, beta, moving
    # mean, moving variance), conv2 3*3*128*128+128 = 147584, bn2 512, 1x1 64*128+128 = 8320
    # -> 230784 (of which 2 * 2 * 128 = 512 non-trainable).
    block = Residual(128, use_1x1conv=True, strides=2)
    block.build((None, 24, 24, 64))
    assert block.count_params() == 230784
    assert sum(int(np.prod(v.shape)) for v in block.non_trainable_weights) == 512


# ---------------------------------------------------------------------------- DenseNet blocks

def test_dense_block_checks(tmp_path):
    run_layer_checks(DenseBlock(2, 10), (4, 5, 5, 3), tmp_path,
                     expected_output_shape=(4, 5, 5, 23))


@pytest.mark.parametrize("training", [False, True])
def test_dense_block_equals_plain_keras(training):
    assert_equals_plain(DenseBlock(3, 4), plain_dense_block, (3, 5, 5, 3), 3, 4,
                        training=training)


def test_dense_block_parameter_count():
    # d2l's DenseBlock(4, 32) on the 64-channel stem output, by hand: BN on 64, 96, 128, 160
    # channels: 4 * (64+96+128+160) = 1792; convs 3*3*32*(64+96+128+160) + 4*32 = 129152
    # -> 130944, and 64 + 4*32 = 192 output channels.
    block = DenseBlock(4, 32)
    block.build((None, 24, 24, 64))
    assert block.count_params() == 130944
    assert block.compute_output_shape((None, 24, 24, 64)) == (None, 24, 24, 192)


def test_transition_block_checks(tmp_path):
    run_layer_checks(TransitionBlock(6), (4, 5, 5, 8), tmp_path,
                     expected_output_shape=(4, 2, 2, 6))


@pytest.mark.parametrize("training", [False, True])
def test_transition_block_equals_plain_keras(training):
    assert_equals_plain(TransitionBlock(5), plain_transition_block, (3, 6, 6, 7), 5,
                        training=training)


def test_transition_block_parameter_count():
    # d2l's first transition: 192 -> 96 channels, by hand: BN 4*192 = 768,
    # conv 192*96 + 96 = 18528 -> 19296.
    block = TransitionBlock(96)
    block.build((None, 24, 24, 192))
    assert block.count_params() == 19296


# ---------------------------------------------------------------------------- bad arguments

@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: VGGBlock(0, 8), "num_convs"),
        (lambda: VGGBlock(1, 2.5), "filters"),
        (lambda: NiNBlock(8, 0), "kernel_size"),
        (lambda: NiNBlock(8, 3, strides=0), "strides"),
        (lambda: NiNBlock(8, 3, padding=-1), "padding"),
        (lambda: Inception(0, (1, 1), (1, 1), 1), "n1"),
        (lambda: Inception(1, 4, (1, 1), 1), "n2"),
        (lambda: Inception(1, (1, 1), (1, 0), 1), r"n3\[1\]"),
        (lambda: Residual(0), "filters"),
        (lambda: Residual(8, strides=2), "use_1x1conv"),
        (lambda: Residual(8, use_1x1conv="yes"), "use_1x1conv"),
        (lambda: DenseBlock(0, 4), "num_convs"),
        (lambda: DenseBlock(2, -4), "growth_rate"),
        (lambda: TransitionBlock(None), "filters"),
    ],
)
def test_bad_arguments(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_residual_without_1x1conv_needs_matching_channels():
    with pytest.raises(ValueError, match=r"filters=8.*\(2, 6, 6, 3\)"):
        Residual(8)(random_inputs((2, 6, 6, 3)))
