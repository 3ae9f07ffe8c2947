"""make_target_model: the notes' fine-tuning steps 2 and 3."""

import keras
import numpy as np
import pytest

from kerasnotes.models.lenet import LeNet
from kerasnotes.models.resnet import ResNet18
from kerasnotes.models.finetune import make_target_model
from tests.test_case import assert_keras_save_load, assert_trains_one_step, random_inputs


def features(model, x):
    return np.array(keras.Model(model.inputs, model.layers[-1].input)(x))


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
