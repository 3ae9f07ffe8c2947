"""The CNN models of the notes: AlexNet, VGG, NiN, GoogLeNet, ResNet and DenseNet.

Each model goes through the shared model checks on a small input, is compared with the same
architecture written with plain Keras layers only (tests/reference/cnn_models.py: parameter
count, and outputs with the weights copied), and a few parameter counts are checked against
d2l's figures computed by hand. The plain builders (`PLAIN_MODELS`) are also the reference
of benchmarks/cnn_throughput.py.
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
from tests.reference.cnn_blocks import copy_weights, randomize_batch_norms
from tests.reference.cnn_models import PLAIN_MODELS, plain_googlenet, plain_resnet, plain_vgg
from tests.test_case import random_inputs, run_model_checks

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
    # Seeded: the narrow NiN ends in ReLU, and about 1 initialization in 20 outputs zeros
    # for every input (seeds 13 and 27 of 0-39), so that no weight gets a gradient.
    keras.utils.set_random_seed(0)
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
