import keras
import numpy as np
import pytest

from kerasnotes.layers.conv2d import Conv2D
from tests.test_case import assert_same_values_and_gradients, random_inputs, run_layer_checks


def built_pair(input_shape, **kwargs):
    """Our Conv2D and keras.layers.Conv2D with the same (random) weights."""
    ours = Conv2D(bias_initializer="random_normal", **kwargs)
    ours.build(input_shape)
    keras_kwargs = dict(kwargs)
    reference = keras.layers.Conv2D(**keras_kwargs)
    reference.build(input_shape)
    reference.set_weights(ours.get_weights())
    return ours, reference


@pytest.mark.parametrize("input_shape,filters,kernel_size,strides,padding", [
    ((2, 7, 9, 3), 4, 3, 1, "valid"),
    ((2, 7, 9, 3), 4, 3, 2, "same"),
    ((1, 8, 7, 2), 3, (2, 3), 3, "same"),
    ((2, 9, 8, 3), 5, (3, 2), (2, 3), "valid"),
    ((2, 5, 5, 1), 2, 5, 1, "same"),
    ((2, 6, 7, 2), 3, 4, 2, "same"),
    ((2, 10, 11, 2), 3, 3, 3, "valid"),
    ((1, 4, 4, 3), 2, 1, 1, "valid"),
])
def test_equals_keras_conv2d(input_shape, filters, kernel_size, strides, padding):
    ours, reference = built_pair(input_shape, filters=filters, kernel_size=kernel_size,
                                 strides=strides, padding=padding)
    assert ours.kernel.shape == reference.kernel.shape
    x = random_inputs(input_shape, seed=1)
    assert_same_values_and_gradients(
        ours, reference, [x], ours.trainable_variables, reference.trainable_variables
    )
    assert ours.compute_output_shape(input_shape) == reference.compute_output_shape(input_shape)


@pytest.mark.parametrize("input_shape,kernel_size,strides,padding", [
    ((2, 7, 8, 3), 3, 1, 1),
    ((2, 7, 8, 3), (5, 3), 1, (2, 1)),
    ((2, 9, 8, 2), 3, 2, 1),
    ((1, 7, 7, 2), (3, 2), (3, 2), (2, 0)),
])
def test_explicit_padding_equals_zero_padding_then_keras_conv2d(input_shape, kernel_size,
                                                              strides, padding):
    ours = Conv2D(4, kernel_size, strides=strides, padding=padding,
                  bias_initializer="random_normal")
    ours.build(input_shape)
    conv = keras.layers.Conv2D(4, kernel_size, strides=strides, padding="valid")
    zero_pad = keras.layers.ZeroPadding2D(padding)
    conv.build(zero_pad.compute_output_shape(input_shape))
    conv.set_weights(ours.get_weights())
    x = random_inputs(input_shape, seed=2)
    assert_same_values_and_gradients(
        ours, lambda x: conv(zero_pad(x)), [x], ours.trainable_variables,
        conv.trainable_variables,
    )


@pytest.mark.parametrize("k", [1, 3, 5, 7])
def test_odd_kernel_with_half_padding_keeps_size(k):
    # The notes: an odd kernel k with floor(k / 2) zeros on each side keeps the size.
    layer = Conv2D(2, k, padding=k // 2)
    assert layer(random_inputs((1, 9, 8, 3))).shape == (1, 9, 8, 2)


def test_activation_without_bias_equals_keras():
    ours, reference = built_pair((2, 6, 6, 3), filters=3, kernel_size=3, padding="same",
                                 activation="tanh", use_bias=False)
    assert ours.bias is None and len(ours.get_weights()) == 1
    assert_same_values_and_gradients(
        ours, reference, [random_inputs((2, 6, 6, 3), seed=3)], ours.trainable_variables,
        reference.trainable_variables,
    )


def test_weights_copy_from_keras():
    reference = keras.layers.Conv2D(3, (3, 2), strides=2, padding="same",
                                    bias_initializer="random_normal")
    x = random_inputs((2, 7, 6, 2), seed=4)
    expected = np.array(reference(x))
    ours = Conv2D(3, (3, 2), strides=2, padding="same")
    ours.build(x.shape)
    ours.set_weights(reference.get_weights())
    np.testing.assert_allclose(np.array(ours(x)), expected, atol=1e-5, rtol=0)


def test_unknown_spatial_size_in_a_functional_model():
    inputs = keras.Input((None, None, 3))
    ours = Conv2D(4, 3, strides=2, padding="same", bias_initializer="random_normal")
    model = keras.Model(inputs, ours(inputs))
    reference = keras.layers.Conv2D(4, 3, strides=2, padding="same")
    reference.build((None, None, None, 3))
    reference.set_weights(ours.get_weights())
    assert model.output_shape == (None, None, None, 4)
    for shape in [(1, 7, 8, 3), (2, 6, 5, 3)]:
        x = random_inputs(shape, seed=5)
        np.testing.assert_allclose(np.array(model(x)), np.array(reference(x)), atol=1e-5,
                                   rtol=0)


@pytest.mark.parametrize("kwargs,input_shape,output_shape", [
    (dict(filters=4, kernel_size=3, padding=1), (2, 6, 5, 3), (2, 6, 5, 4)),
    (dict(filters=2, kernel_size=(3, 2), strides=2, padding="same", activation="relu"),
     (2, 7, 7, 2), (2, 4, 4, 2)),
])
def test_layer_checks(kwargs, input_shape, output_shape, tmp_path):
    run_layer_checks(Conv2D(**kwargs), input_shape, tmp_path,
                     expected_output_shape=output_shape)


@pytest.mark.parametrize("kwargs,match", [
    (dict(filters=0, kernel_size=3), "filters"),
    (dict(filters=2.5, kernel_size=3), "filters"),
    (dict(filters=2, kernel_size=0), "kernel_size"),
    (dict(filters=2, kernel_size=(3, -1)), "kernel_size"),
    (dict(filters=2, kernel_size=(3, 3, 3)), "kernel_size"),
    (dict(filters=2, kernel_size=3, strides=0), "strides"),
    (dict(filters=2, kernel_size=3, padding="full"), "padding"),
    (dict(filters=2, kernel_size=3, padding=-1), "padding"),
    (dict(filters=2, kernel_size=3, padding=(1, 1, 1)), "padding"),
    (dict(filters=2, kernel_size=3, activation="no_such_activation"), "no_such_activation"),
])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Conv2D(**kwargs)


def test_wrong_input_rank_names_layer_and_shape():
    layer = Conv2D(2, 3, name="my_conv")
    with pytest.raises(ValueError, match=r"my_conv.*\(2, 5, 3\)"):
        layer(np.zeros((2, 5, 3), "float32"))


def test_kernel_larger_than_input_raises():
    with pytest.raises(ValueError, match=r"does not fit.*\(1, 2, 4, 1\)"):
        Conv2D(2, 3, name="big")(np.zeros((1, 2, 4, 1), "float32"))
    # Enough zero padding makes it fit.
    assert Conv2D(2, 3, padding=1)(np.zeros((1, 2, 4, 1), "float32")).shape == (1, 2, 4, 2)
