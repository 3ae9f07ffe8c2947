import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.layers.rectifiers import GeneralizedReLU
from tests.test_case import assert_same_values_and_gradients, random_inputs, run_layer_checks


def built(layer, shape):
    layer.build(shape)
    return layer


def test_fixed_alpha_matches_notes_formula():
    x = random_inputs((4, 6), seed=0)
    for alpha in (0.0, 0.2, -1.0, 1.5):
        expected = np.maximum(0, x) + alpha * np.minimum(0, x)
        np.testing.assert_allclose(np.array(GeneralizedReLU(alpha)(x)), expected, atol=1e-7)


def test_leaky_equals_keras_leaky_relu():
    x = random_inputs((3, 4, 5), seed=1)
    assert_same_values_and_gradients(GeneralizedReLU.leaky(0.2),
                                     keras.layers.LeakyReLU(negative_slope=0.2), [x])
    assert GeneralizedReLU.leaky().alpha_value == 0.01


def test_alpha_zero_is_relu_and_minus_one_is_absolute_value():
    x = random_inputs((5, 7), seed=2)
    assert_same_values_and_gradients(GeneralizedReLU(0.0), keras.activations.relu, [x])
    assert_same_values_and_gradients(GeneralizedReLU.absolute_value(), tf.abs, [x])


@pytest.mark.parametrize(
    "input_shape, ours_axes, keras_axes",
    [
        ((2, 4, 4, 3), None, [1, 2]),  # default: one alpha per channel
        ((2, 4, 4, 3), (), None),  # one alpha per element (keras' default)
        ((2, 5, 3), [1], [1]),
        ((2, 4, 4, 3), [1, 2, 3], [1, 2, 3]),  # one alpha for everything
    ],
)
def test_parametric_equals_keras_prelu(input_shape, ours_axes, keras_axes):
    ours = built(GeneralizedReLU.parametric(shared_axes=ours_axes), input_shape)
    theirs = built(keras.layers.PReLU(shared_axes=keras_axes), input_shape)
    assert tuple(ours.alpha.shape) == tuple(theirs.alpha.shape)
    alpha = random_inputs(ours.alpha.shape, seed=3, low=-0.5, high=0.5)
    ours.alpha.assign(alpha)
    theirs.alpha.assign(alpha)
    x = random_inputs(input_shape, seed=4)
    assert_same_values_and_gradients(ours, theirs, [x], variables_a=[ours.alpha],
                                      variables_b=[theirs.alpha])


def test_parametric_initial_alpha_and_per_channel_shape():
    layer = built(GeneralizedReLU.parametric(alpha=0.25), (None, 6, 6, 8))
    assert layer.alpha.shape == (1, 1, 8) and layer.alpha.trainable
    np.testing.assert_array_equal(np.array(layer.alpha), np.full((1, 1, 8), 0.25))


@pytest.mark.parametrize(
    "layer", [lambda: GeneralizedReLU(0.1), lambda: GeneralizedReLU.absolute_value(),
              lambda: GeneralizedReLU.parametric(0.25),
              lambda: GeneralizedReLU.parametric(0.1, shared_axes=[1])],
)
def test_layer_checks(layer, tmp_path):
    run_layer_checks(layer(), (2, 3, 4), tmp_path, expected_output_shape=(2, 3, 4))


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: GeneralizedReLU(float("nan")), "alpha"),
        (lambda: GeneralizedReLU(0.1, learnable="yes"), "learnable"),
        (lambda: GeneralizedReLU(0.1, shared_axes=[1]), "shared_axes"),
        (lambda: GeneralizedReLU.parametric(shared_axes=[0]), "shared_axes"),
        (lambda: GeneralizedReLU.parametric(shared_axes=[3]).build((2, 4, 4)), "shared_axes"),
        (lambda: GeneralizedReLU.parametric().build((4,)), "rank"),
    ],
)
def test_bad_arguments(build, message):
    with pytest.raises(ValueError, match=message):
        build()
