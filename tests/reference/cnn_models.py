"""Plain-Keras references of the notes' CNN models: AlexNet, VGG, NiN, GoogLeNet, ResNet,
DenseNet.

Each builder takes the arguments of our model class and builds the same architecture with
stock Keras layers (and the plain blocks of `tests.reference.cnn_blocks`), with layers named
so that `copy_weights(ours, plain)` copies our weights into it. `PLAIN_MODELS` maps a name
to `(our model class, plain builder)`; tests/models/test_cnn_models.py checks that both
compute the same function, benchmarks/cnn_throughput.py times them against each other.

    >>> model_class, plain_builder = PLAIN_MODELS["resnet18"]
    >>> config = dict(num_classes=5, input_shape=(32, 32, 1), width_divisor=16)
    >>> ours, plain = model_class(**config), plain_builder(**config)
    >>> plain_variables = copy_weights(ours, plain)  # tests.reference.cnn_blocks
"""

import keras

from kerasnotes.models.alexnet import AlexNet
from kerasnotes.models.densenet import DenseNet
from kerasnotes.models.googlenet import GoogLeNet
from kerasnotes.models.nin import NiN
from kerasnotes.models.resnet import ResNet18
from kerasnotes.models.vgg import VGG
from tests.reference.cnn_blocks import (
    plain_dense_block,
    plain_inception,
    plain_nin_block,
    plain_residual,
    plain_transition_block,
    plain_vgg_block,
)

L = keras.layers


# Written from the notes again, independently of the model files (the Inception and ResNet
# configurations are transcribed here a second time).

def _width(width_divisor):
    return lambda channels: max(1, channels // width_divisor)


def plain_alexnet(num_classes=10, input_shape=(224, 224, 1), width_divisor=1, dropout=0.5):
    w = _width(width_divisor)
    inputs = keras.Input(input_shape)
    x = L.Conv2D(w(96), 11, strides=4, activation="relu", name="conv1")(inputs)
    x = L.MaxPooling2D(3, 2)(x)
    x = L.Conv2D(w(256), 5, padding="same", activation="relu", name="conv2")(x)
    x = L.MaxPooling2D(3, 2)(x)
    x = L.Conv2D(w(384), 3, padding="same", activation="relu", name="conv3")(x)
    x = L.Conv2D(w(384), 3, padding="same", activation="relu", name="conv4")(x)
    x = L.Conv2D(w(256), 3, padding="same", activation="relu", name="conv5")(x)
    x = L.Flatten()(L.MaxPooling2D(3, 2)(x))
    x = L.Dropout(dropout)(L.Dense(w(4096), activation="relu", name="dense1")(x))
    x = L.Dropout(dropout)(L.Dense(w(4096), activation="relu", name="dense2")(x))
    return keras.Model(inputs, L.Dense(num_classes, name="logits")(x))


def plain_vgg(conv_arch=((1, 64), (1, 128), (2, 256), (2, 512), (2, 512)), num_classes=10,
              input_shape=(224, 224, 1), width_divisor=1, dropout=0.5):
    w = _width(width_divisor)
    inputs = x = keras.Input(input_shape)
    for i, (num_convs, filters) in enumerate(conv_arch):
        x = plain_vgg_block(x, num_convs, w(filters), prefix=f"block{i + 1}_")
    x = L.Flatten()(x)
    x = L.Dropout(dropout)(L.Dense(w(4096), activation="relu", name="dense1")(x))
    x = L.Dropout(dropout)(L.Dense(w(4096), activation="relu", name="dense2")(x))
    return keras.Model(inputs, L.Dense(num_classes, name="logits")(x))


def plain_nin(num_classes=10, input_shape=(224, 224, 1), width_divisor=1, dropout=0.5):
    w = _width(width_divisor)
    inputs = keras.Input(input_shape)
    x = plain_nin_block(inputs, w(96), 11, 4, 0, prefix="block1_")
    x = plain_nin_block(L.MaxPooling2D(3, 2)(x), w(256), 5, 1, 2, prefix="block2_")
    x = plain_nin_block(L.MaxPooling2D(3, 2)(x), w(384), 3, 1, 1, prefix="block3_")
    x = L.Dropout(dropout)(L.MaxPooling2D(3, 2)(x))
    x = plain_nin_block(x, num_classes, 3, 1, 1, prefix="block4_")
    x = L.GlobalAveragePooling2D(keepdims=True)(x)  # the notes: (batch, 1, 1, classes)
    return keras.Model(inputs, L.Flatten()(x))


def _padded_max_pool(x):
    return L.MaxPooling2D(3, 2)(L.ZeroPadding2D(1)(x))


def plain_googlenet(num_classes=10, input_shape=(96, 96, 1), width_divisor=1):
    w = _width(width_divisor)
    stages = {
        3: [(64, (96, 128), (16, 32), 32), (128, (128, 192), (32, 96), 64)],
        4: [(192, (96, 208), (16, 48), 64), (160, (112, 224), (24, 64), 64),
            (128, (128, 256), (24, 64), 64), (112, (144, 288), (32, 64), 64),
            (256, (160, 320), (32, 128), 128)],
        5: [(256, (160, 320), (32, 128), 128), (384, (192, 384), (48, 128), 128)],
    }
    inputs = keras.Input(input_shape)
    x = L.Conv2D(w(64), 7, strides=2, activation="relu", name="b1_conv")(
        L.ZeroPadding2D(3)(inputs))
    x = _padded_max_pool(x)
    x = L.Conv2D(w(64), 1, activation="relu", name="b2_conv1")(x)
    x = L.Conv2D(w(192), 3, padding="same", activation="relu", name="b2_conv2")(x)
    x = _padded_max_pool(x)
    for stage, blocks in stages.items():
        for i, (n1, (n21, n22), (n31, n32), n4) in enumerate(blocks):
            x = plain_inception(x, w(n1), (w(n21), w(n22)), (w(n31), w(n32)), w(n4),
                                prefix=f"b{stage}_inception{i + 1}_")
        if stage < 5:
            x = _padded_max_pool(x)
    x = L.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, L.Dense(num_classes, name="logits")(x))


def _plain_stem(inputs, filters):
    x = L.Conv2D(filters, 7, strides=2, name="stem_conv")(L.ZeroPadding2D(3)(inputs))
    x = L.ReLU()(L.BatchNormalization(name="stem_bn")(x))
    return _padded_max_pool(x)


def plain_resnet(num_classes=10, input_shape=(96, 96, 1), width_divisor=1,
                 blocks_per_group=(2, 2, 2, 2)):
    w = _width(width_divisor)
    inputs = keras.Input(input_shape)
    x = _plain_stem(inputs, w(64))
    groups = zip((64, 128, 256, 512), blocks_per_group, strict=True)
    for group, (channels, blocks) in enumerate(groups):
        for block in range(blocks):
            first = group > 0 and block == 0
            x = plain_residual(x, w(channels), first, 2 if first else 1,
                               prefix=f"group{group + 1}_block{block + 1}_")
    x = L.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, L.Dense(num_classes, name="logits")(x))


def plain_densenet(num_classes=10, input_shape=(96, 96, 1), width_divisor=1):
    growth_rate = max(1, 32 // width_divisor)
    channels = max(1, 64 // width_divisor)
    inputs = keras.Input(input_shape)
    x = _plain_stem(inputs, channels)
    for i in range(4):
        x = plain_dense_block(x, 4, growth_rate, prefix=f"dense_block{i + 1}_")
        channels += 4 * growth_rate
        if i < 3:
            channels //= 2
            x = plain_transition_block(x, channels, prefix=f"transition{i + 1}_")
    x = L.ReLU()(L.BatchNormalization(name="final_bn")(x))
    x = L.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, L.Dense(num_classes, name="logits")(x))


# name -> (our model class, the plain-Keras builder taking the same arguments)
PLAIN_MODELS = {
    "alexnet": (AlexNet, plain_alexnet),
    "vgg": (VGG, plain_vgg),
    "nin": (NiN, plain_nin),
    "googlenet": (GoogLeNet, plain_googlenet),
    "resnet18": (ResNet18, plain_resnet),
    "densenet": (DenseNet, plain_densenet),
}
