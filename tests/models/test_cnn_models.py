"""The CNN models of the notes: AlexNet, VGG, NiN, GoogLeNet, ResNet and DenseNet.

Each model goes through the shared model checks on a small input, is compared with the same
architecture written here with plain Keras layers only (parameter count, and outputs with
the weights copied), and a few parameter counts are checked against d2l's figures computed
by hand. The plain builders (`PLAIN_MODELS`) are also the reference of
benchmarks/cnn_throughput.py.
"""

import keras
import numpy as np
import pytest

from kerasnotes.models.alexnet import AlexNet
from kerasnotes.models.densenet import DenseNet
from kerasnotes.models.googlenet import GoogLeNet
from kerasnotes.models.nin import NiN
from kerasnotes.models.resnet import ResNet, ResNet18
from kerasnotes.models.vgg import VGG
from tests.layers.test_cnn_blocks import (
    copy_weights,
    plain_dense_block,
    plain_inception,
    plain_nin_block,
    plain_residual,
    plain_transition_block,
    plain_vgg_block,
    randomize_batch_norms,
)
from tests.test_case import random_inputs, run_model_checks

L = keras.layers


# ---------------------------------------------------------------- plain-Keras references
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

SMALL_CONFIGS = {
    "alexnet": dict(num_classes=5, input_shape=(67, 67, 1), width_divisor=32),
    "vgg": dict(num_classes=5, input_shape=(32, 32, 3), width_divisor=16),
    "nin": dict(num_classes=5, input_shape=(67, 67, 1), width_divisor=16),
    "googlenet": dict(num_classes=5, input_shape=(32, 32, 1), width_divisor=16),
    "resnet18": dict(num_classes=5, input_shape=(32, 32, 1), width_divisor=16),
    "densenet": dict(num_classes=5, input_shape=(32, 32, 1), width_divisor=8),
}


# ---------------------------------------------------------------------------- shared checks

@pytest.mark.parametrize("name", sorted(SMALL_CONFIGS))
def test_model_checks(name, tmp_path):
    config = SMALL_CONFIGS[name]
    model = PLAIN_MODELS[name][0](**config)
    run_model_checks(model, (2, *config["input_shape"]), tmp_path,
                     expected_output_shape=(2, config["num_classes"]))


@pytest.mark.parametrize("name", sorted(SMALL_CONFIGS))
def test_model_equals_plain_keras(name):
    model_class, plain_builder = PLAIN_MODELS[name]
    config = SMALL_CONFIGS[name]
    ours, plain = model_class(**config), plain_builder(**config)
    assert ours.count_params() == plain.count_params()
    randomize_batch_norms(ours)
    copy_weights(ours, plain)
    x = random_inputs((3, *config["input_shape"]))
    np.testing.assert_allclose(np.array(ours(x, training=False)),
                               np.array(plain(x, training=False)), atol=1e-5, rtol=0)


def test_resnet34_equals_plain_keras():
    config = dict(num_classes=3, input_shape=(32, 32, 1), width_divisor=16)
    ours, plain = ResNet(depth=34, **config), plain_resnet(**config,
                                                           blocks_per_group=(3, 4, 6, 3))
    assert ours.count_params() == plain.count_params()
    randomize_batch_norms(ours)
    copy_weights(ours, plain)
    x = random_inputs((2, 32, 32, 1))
    np.testing.assert_allclose(np.array(ours(x, training=False)),
                               np.array(plain(x, training=False)), atol=1e-5, rtol=0)


def test_vgg_custom_architecture():
    config = dict(conv_arch=((1, 8), (2, 16)), num_classes=4, input_shape=(12, 12, 2),
                  width_divisor=2)
    ours, plain = VGG(**config), plain_vgg(**config)
    assert [layer.name for layer in ours.layers[:3]] == ["images", "block1", "block2"]
    assert ours.get_layer("block2").output.shape == (None, 3, 3, 8)
    assert ours.count_params() == plain.count_params()


# ---------------------------------------------------------------- the notes' sizes and counts

def feature_sizes(model, names):
    return [tuple(model.get_layer(name).output.shape[1:]) for name in names]


def test_alexnet_full_size_layers_and_parameter_count():
    model = AlexNet(num_classes=10, input_shape=(224, 224, 1))
    assert feature_sizes(model, ["conv1", "pool1", "conv2", "pool2", "conv5", "pool3"]) == [
        (54, 54, 96), (26, 26, 96), (26, 26, 256), (12, 12, 256), (12, 12, 256), (5, 5, 256)]
    # d2l's AlexNet on 224x224x1 Fashion-MNIST, by hand:
    # conv1 11*11*1*96+96 = 11712, conv2 5*5*96*256+256 = 614656,
    # conv3 3*3*256*384+384 = 885120, conv4 3*3*384*384+384 = 1327488,
    # conv5 3*3*384*256+256 = 884992, dense1 (5*5*256)*4096+4096 = 26218496,
    # dense2 4096*4096+4096 = 16781312, logits 4096*10+10 = 40970 -> 46764746.
    assert model.count_params() == 46764746


@pytest.mark.slow  # builds 129M parameters (~5 s)
def test_vgg11_full_size_parameter_count():
    model = VGG(num_classes=10, input_shape=(224, 224, 1))
    # d2l's VGG-11 on 224x224x1, by hand: convs 640 + 73856 + 295168 + 590080 + 1180160
    # + 3 * 2359808 = 9219328; dense1 (7*7*512)*4096+4096 = 102764544,
    # dense2 16781312, logits 40970 -> 128806154.
    assert model.get_layer("block5").output.shape == (None, 7, 7, 512)
    assert model.count_params() == 128806154


def test_nin_full_size_parameter_count():
    model = NiN(num_classes=10, input_shape=(224, 224, 1))
    assert feature_sizes(model, ["block1", "pool1", "block2", "pool2", "block3", "pool3",
                                 "block4", "flatten"]) == [
        (54, 54, 96), (26, 26, 96), (26, 26, 256), (12, 12, 256), (12, 12, 384),
        (5, 5, 384), (5, 5, 10), (10,)]
    # By hand: block1 11*11*96+96 + 2*(96*96+96) = 30336; block2 5*5*96*256+256
    # + 2*(256*256+256) = 746240; block3 3*3*256*384+384 + 2*(384*384+384) = 1180800;
    # block4 3*3*384*10+10 + 2*(10*10+10) = 34790 -> 1992166.
    assert model.count_params() == 1992166


def test_googlenet_full_size_stages():
    model = GoogLeNet(num_classes=10, input_shape=(96, 96, 1))
    assert feature_sizes(model, ["b1_conv", "b1_pool", "b2_conv2", "b2_pool",
                                 "b3_inception2", "b3_pool", "b4_inception5", "b4_pool",
                                 "b5_inception2", "global_pool"]) == [
        (48, 48, 64), (24, 24, 64), (24, 24, 192), (12, 12, 192), (12, 12, 480),
        (6, 6, 480), (6, 6, 832), (3, 3, 832), (3, 3, 1024), (1024,)]
    assert model.count_params() == plain_googlenet().count_params()


def test_resnet18_full_size_layers_and_parameter_count():
    model = ResNet18(num_classes=10, input_shape=(96, 96, 1))
    assert feature_sizes(model, ["stem_conv", "stem_pool", "group1_block2", "group2_block1",
                                 "group3_block2", "group4_block2"]) == [
        (48, 48, 64), (24, 24, 64), (24, 24, 64), (12, 12, 128), (6, 6, 256), (3, 3, 512)]
    # By hand (convolutions with biases, as in d2l; BN counts gamma, beta, moving mean and
    # variance): stem 7*7*64+64 + 4*64 = 3456; group 1: 2 * (2*(3*3*64*64+64) + 2*4*64)
    # = 148736; group 2: 230784 + 2*(3*3*128*128+128) + 2*4*128 = 526976;
    # group 3: (295168 + 590080 + 128*256+256 + 2*4*256) + (2*590080 + 2*4*256) = 2102528;
    # group 4: (1180160 + 2359808 + 256*512+512 + 2*4*512) + (2*2359808 + 2*4*512)
    # = 8399360; logits 512*10+10 = 5130 -> 11186186.
    assert model.count_params() == 11186186


def test_densenet_full_size_layers_and_parameter_count():
    model = DenseNet(num_classes=10, input_shape=(96, 96, 1))
    assert feature_sizes(model, ["stem_pool", "dense_block1", "transition1", "dense_block2",
                                 "transition2", "dense_block3", "transition3",
                                 "dense_block4"]) == [
        (24, 24, 64), (24, 24, 192), (12, 12, 96), (12, 12, 224), (6, 6, 112),
        (6, 6, 240), (3, 3, 120), (3, 3, 248)]
    # By hand: stem 7*7*64+64 + 4*64 = 3456; dense blocks (BN 4*c and conv 3*3*c*32+32 for
    # c = c0, c0+32, c0+64, c0+96): c0=64 -> 130944, c0=96 -> 168320, c0=112 -> 187008,
    # c0=120 -> 196352; transitions (BN 4*c + c*c/2 + c/2): 192 -> 19296, 224 -> 26096,
    # 240 -> 29880; final BN 4*248 = 992; logits 248*10+10 = 2490 -> 764834.
    assert model.count_params() == 764834


# ---------------------------------------------------------------------------- bad inputs

@pytest.mark.parametrize(
    "build, pattern",
    [
        (lambda: AlexNet(input_shape=(28, 28, 1)),
         r"AlexNet: input_shape=\(28, 28, 1\) is too small.*'pool2'.*\(2, 2, 256\)"),
        (lambda: NiN(input_shape=(28, 28, 1)),
         r"NiN: input_shape=\(28, 28, 1\) is too small.*'pool2'.*\(2, 2, 256\)"),
        (lambda: VGG(input_shape=(16, 16, 1)),
         r"VGG: input_shape=\(16, 16, 1\) is too small.*'block5'.*\(1, 1, 512\)"),
        (lambda: DenseNet(input_shape=(16, 16, 1)),
         r"DenseNet: input_shape=\(16, 16, 1\) is too small.*'transition3'.*\(1, 1, 240\)"),
    ],
)
def test_input_that_shrinks_below_one_pixel(build, pattern):
    with pytest.raises(ValueError, match=pattern):
        build()


@pytest.mark.parametrize("model_class", [AlexNet, VGG, NiN, GoogLeNet, ResNet18, DenseNet])
@pytest.mark.parametrize("input_shape", [(96, 96), (96, 96, 0), (96, 96, 1, 1), "96x96"])
def test_bad_input_shape(model_class, input_shape):
    with pytest.raises(ValueError, match=rf"{model_class.__name__}: input_shape"):
        model_class(input_shape=input_shape)


@pytest.mark.parametrize("name", ["alexnet", "resnet18"])
def test_images_with_the_wrong_number_of_channels(name):
    config = SMALL_CONFIGS[name]
    model = PLAIN_MODELS[name][0](**config)
    height, width, _ = config["input_shape"]
    pattern = rf"(?s){type(model).__name__}.*\(2, {height}, {width}, 3\)"
    with pytest.raises(ValueError, match=pattern):
        model(random_inputs((2, height, width, 3)))


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: AlexNet(num_classes=0), "AlexNet: num_classes"),
        (lambda: AlexNet(width_divisor=0), "AlexNet: width_divisor"),
        (lambda: AlexNet(dropout=1.0), "AlexNet: dropout"),
        (lambda: VGG(conv_arch=()), "VGG: conv_arch"),
        (lambda: VGG(conv_arch=((1, 64, 3),)), "VGG: conv_arch"),
        (lambda: VGG(conv_arch=((0, 64),)), "VGG: conv_arch num_convs"),
        (lambda: NiN(dropout=-0.1), "NiN: dropout"),
        (lambda: GoogLeNet(width_divisor=2.5), "GoogLeNet: width_divisor"),
        (lambda: ResNet(depth=50), "ResNet: depth"),
        (lambda: ResNet18(num_classes=-1), "ResNet18: num_classes"),
        (lambda: DenseNet(num_convs_in_dense_blocks=()), "DenseNet: num_convs_in_dense_blocks"),
        (lambda: DenseNet(growth_rate=0), "DenseNet: growth_rate"),
    ],
)
def test_bad_arguments(build, message):
    with pytest.raises(ValueError, match=message):
        build()
