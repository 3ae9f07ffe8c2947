import keras
import numpy as np
import pytest

from kerasnotes.models.lenet import LeNet
from kerasnotes.models.mlp import MLP
from kerasnotes.models.softmax_regression import SoftmaxRegression
from tests.test_case import random_inputs, run_model_checks


@pytest.mark.parametrize(
    "model",
    [
        lambda: SoftmaxRegression(num_classes=10, input_shape=(28, 28, 1)),
        lambda: MLP(num_classes=10, hidden_units=(32, 16), dropout=0.5),
        lambda: LeNet(num_classes=10),
        lambda: LeNet(num_classes=5, activation="relu", pooling="max", batch_norm=True),
    ],
)
def test_model_checks(model, tmp_path):
    model = model()
    run_model_checks(model, (2, 28, 28, 1), tmp_path,
                     expected_output_shape=(2, model.num_classes))


def plain_lenet(num_classes=10):
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(6, 5, activation="sigmoid"),
        keras.layers.AveragePooling2D(2, 2),
        keras.layers.Conv2D(16, 5, activation="sigmoid"),
        keras.layers.AveragePooling2D(2, 2),
        keras.layers.Flatten(),
        keras.layers.Dense(120, activation="sigmoid"),
        keras.layers.Dense(84, activation="sigmoid"),
        keras.layers.Dense(num_classes),
    ])


def test_lenet_equals_plain_keras_lenet():
    ours, plain = LeNet(), plain_lenet()
    assert ours.count_params() == plain.count_params() == 44426
    plain.set_weights(ours.get_weights())
    x = random_inputs((3, 28, 28, 1))
    np.testing.assert_allclose(np.array(ours(x)), np.array(plain(x)), atol=1e-6)


def test_softmax_regression_is_xw_plus_b():
    model = SoftmaxRegression(num_classes=3, input_shape=(2, 2, 1))
    x = random_inputs((4, 2, 2, 1))
    w, b = model.get_weights()
    np.testing.assert_allclose(np.array(model(x)), x.reshape(4, 4) @ w + b, atol=1e-6)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: LeNet(input_shape=(12, 12, 1)), "too small"),
        (lambda: LeNet(input_shape=(28, 28)), "input_shape"),
        (lambda: LeNet(pooling="median"), "pooling"),
        (lambda: MLP(dropout=1.0), "dropout"),
        (lambda: SoftmaxRegression(num_classes=0), "num_classes"),
    ],
)
def test_bad_arguments(build, message):
    with pytest.raises(ValueError, match=message):
        build()
