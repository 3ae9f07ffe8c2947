"""make_target_model: the notes' fine-tuning steps 2 and 3."""

import keras
import numpy as np
import pytest

from kerasnotes.models.finetune import (
    imagenet_resnet50,
    load_keras_model,
    load_source_model,
    make_target_model,
    set_batch_norm_momentum,
)
from kerasnotes.models.lenet import LeNet
from kerasnotes.models.resnet import ResNet18
from tests.test_case import assert_keras_save_load, assert_trains_one_step, random_inputs


def features(model, x):
    return np.array(keras.Model(model.inputs[0], model.layers[-1].input)(x))


def test_copies_every_layer_and_weight_but_the_output_layer(tmp_path):
    source = ResNet18(num_classes=7, input_shape=(16, 16, 3), width_divisor=16)
    target = make_target_model(source, num_classes=3, seed=1)
    x = random_inputs((2, 16, 16, 3))
    assert target.output_shape == (None, 3) and target.layers[-1].name == "output"
    assert [x.name for x in target.layers[:-1]] == [x.name for x in source.layers[:-1]]
    np.testing.assert_array_equal(features(target, x), features(source, x))
    for a, b in zip(source.layers[:-1], target.layers[:-1]):
        assert a is not b
        for wa, wb in zip(a.weights, b.weights):
            np.testing.assert_array_equal(np.array(wa), np.array(wb))
    # Training the target leaves the source untouched.
    before = [np.array(w) for w in source.weights]
    assert_trains_one_step(target, x)
    for b, w in zip(before, source.weights):
        np.testing.assert_array_equal(b, np.array(w))
    assert_keras_save_load(target, x, tmp_path)


def test_works_for_other_functional_models():
    source = LeNet(num_classes=10, input_shape=(28, 28, 1))
    target = make_target_model(source, num_classes=2)
    assert target.output_shape == (None, 2)


def test_bad_arguments():
    source = ResNet18(num_classes=7, input_shape=(16, 16, 3), width_divisor=16)
    with pytest.raises(ValueError, match="num_classes"):
        make_target_model(source, num_classes=0)
    with pytest.raises(ValueError, match="output_name"):
        make_target_model(source, num_classes=2, output_name="stem_conv")
    inputs = keras.Input((4,))
    no_dense = keras.Model(inputs, keras.layers.ReLU(name="relu")(inputs))
    with pytest.raises(ValueError, match="relu"):
        make_target_model(no_dense, num_classes=2)


def test_set_batch_norm_momentum_reaches_nested_layers():
    source = ResNet18(num_classes=3, input_shape=(16, 16, 3), width_divisor=16)
    set_batch_norm_momentum(source, 0.9)
    norms = [layer for layer in source._flatten_layers(include_self=False)
             if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) > 10 and all(layer.momentum == 0.9 for layer in norms)


def test_load_keras_model_round_trip_and_one_line_errors(tmp_path):
    keras.utils.set_random_seed(0)
    source = ResNet18(num_classes=3, input_shape=(16, 16, 3), width_divisor=16)
    source.save(tmp_path / "source.keras")
    loaded = load_keras_model(str(tmp_path / "source.keras"))
    x = random_inputs((2, 16, 16, 3))
    np.testing.assert_allclose(loaded(x, training=False), source(x, training=False), rtol=1e-5,
                               atol=1e-5)
    with pytest.raises(FileNotFoundError, match=r"^`source_model`: file not found: .*none.keras$"):
        load_keras_model(str(tmp_path / "none.keras"))
    (tmp_path / "junk.keras").write_text("not a zip")
    with pytest.raises(ValueError, match=r"^`source_model`: cannot load .*junk.keras") as info:
        load_keras_model(str(tmp_path / "junk.keras"))
    assert "\n" not in str(info.value)


def test_imagenet_resnet50_refuses_other_image_shapes_before_any_download():
    with pytest.raises(ValueError, match=r"224x224x3 images; the target images are \(28, 28, 3\)"):
        imagenet_resnet50((28, 28, 3))


def test_load_source_model_takes_the_target_images_or_says_which_it_takes(tmp_path):
    path = str(tmp_path / "source.keras")
    ResNet18(num_classes=3, input_shape=(16, 16, 3), width_divisor=16).save(path)
    assert load_source_model((16, 16, 3), path).input_shape == (None, 16, 16, 3)
    with pytest.raises(ValueError, match=r"^`source_model` .*source.keras takes images "
                                         r"\(16, 16, 3\); the target images are \(28, 28, 3\) "
                                         r"\(see `image_size`\)$"):
        load_source_model((28, 28, 3), path)
    with pytest.raises(ValueError, match="224x224x3 images"):  # before any download
        load_source_model((28, 28, 3), path, weights="imagenet")
