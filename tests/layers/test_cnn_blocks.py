"""The CNN blocks of the notes: VGG, NiN, Inception, residual, dense and transition blocks.

Each block goes through the shared layer checks and is compared, in value and gradients,
with the same block written with plain Keras layers (tests/reference/cnn_blocks.py, the
weights copied from ours).
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
from tests.reference.cnn_blocks import (
    copy_weights,
    plain_dense_block,
    plain_inception,
    plain_nin_block,
    plain_residual,
    plain_transition_block,
    plain_vgg_block,
    randomize_batch_norms,
)
from tests.test_case import assert_same_values_and_gradients, random_inputs, run_layer_checks


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
