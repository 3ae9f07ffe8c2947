"""Plain-Keras references of the notes' CNN blocks, and the weight copy between the two.

The same blocks as `kerasnotes.layers` (VGG, NiN, Inception, residual, dense and transition
blocks) written with stock Keras layers only, as a Keras user would. The tests compare our
blocks with them in value and gradients (tests/layers/test_cnn_blocks.py), and
benchmarks/cnn_throughput.py times our models against the plain models built from them.

    >>> block = VGGBlock(2, 6, name="block")
    >>> _ = block(np.zeros((1, 8, 8, 3), "float32"))
    >>> inputs = keras.Input((8, 8, 3))
    >>> plain = keras.Model(inputs, plain_vgg_block(inputs, 2, 6, prefix="block_"))
    >>> plain_variables = copy_weights(block, plain)  # block/conv1/kernel -> block_conv1/kernel
"""

import keras
import numpy as np

L = keras.layers


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
