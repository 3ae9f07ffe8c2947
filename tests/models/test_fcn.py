"""FCN on the ResNet-18 trunk."""

import keras
import numpy as np
import pytest

from kerasnotes.models.fcn import FCN
from kerasnotes.models.resnet import ResNet18
from tests.test_case import random_inputs, run_model_checks


def test_model_checks(tmp_path):
    model = FCN(num_classes=3, width_divisor=32)
    run_model_checks(model, (2, 64, 64, 3), tmp_path, expected_output_shape=(2, 64, 64, 3))


@pytest.mark.parametrize("groups, stride", [(4, 32), (3, 16), (1, 4)])
def test_any_size_and_stride(groups, stride):
    model = FCN(num_classes=5, width_divisor=32, backbone_groups=groups)
    assert model.stride == stride
    assert model(np.zeros((1, 2 * stride, 3 * stride, 3), "float32")).shape == (
        1, 2 * stride, 3 * stride, 5)
    kernel = model.get_layer("upsample").kernel
    assert tuple(kernel.shape) == (2 * stride, 2 * stride, 5, 5)


def test_trunk_is_resnet18_without_pooling_and_dense():
    """Weights copied from a ResNet18 by layer name give the ResNet's group-4 features."""
    resnet = ResNet18(num_classes=10, input_shape=(64, 64, 3), width_divisor=32)
    fcn = FCN(num_classes=4, width_divisor=32)
    copied = fcn.load_backbone_weights(resnet)
    assert copied[0] == "stem_conv" and copied[-1] == "group4_block2"
    assert "global_pool" not in [layer.name for layer in fcn.layers]
    x = random_inputs((2, 64, 64, 3))
    resnet_features = keras.Model(resnet.input, resnet.get_layer("group4_block2").output)
    fcn_features = keras.Model(fcn.input, fcn.get_layer("group4_block2").output)
    np.testing.assert_allclose(fcn_features(x), resnet_features(x), atol=1e-5)


def test_load_backbone_weights_refuses_other_widths():
    resnet = ResNet18(num_classes=10, input_shape=(64, 64, 3), width_divisor=16)
    with pytest.raises(ValueError, match="width_divisor"):
        FCN(num_classes=4, width_divisor=32).load_backbone_weights(resnet)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_classes": 0}, "num_classes"),
        ({"width_divisor": 1.5}, "width_divisor"),
        ({"backbone_groups": 5}, "backbone_groups"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        FCN(**kwargs)
