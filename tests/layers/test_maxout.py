import keras
import numpy as np
import pytest

from kerasnotes.layers.maxout import Maxout
from tests.test_case import random_inputs, run_layer_checks, values_and_gradients


def numpy_maxout(x, kernel, bias):
    pieces = np.einsum("...i,iuk->...uk", x, kernel) + bias
    return pieces.max(axis=-1)


@pytest.mark.parametrize("input_shape", [(3, 5), (2, 4, 5)])
def test_matches_numpy(input_shape):
    layer = Maxout(units=4, pieces=3, bias_initializer="random_normal")
    x = random_inputs(input_shape, seed=0)
    out = np.array(layer(x))
    assert out.shape == input_shape[:-1] + (4,)
    np.testing.assert_allclose(out, numpy_maxout(x, np.array(layer.kernel), np.array(layer.bias)),
                               atol=1e-6)


def test_equals_dense_then_group_max():
    layer = Maxout(units=3, pieces=4, bias_initializer="random_normal")
    layer.build((None, 6))
    dense = keras.layers.Dense(12)
    dense.build((None, 6))
    dense.set_weights([np.array(layer.kernel).reshape(6, 12), np.array(layer.bias).reshape(12)])

    def reference(x):
        return keras.ops.max(keras.ops.reshape(dense(x), (-1, 3, 4)), axis=-1)

    x = random_inputs((5, 6), seed=1)
    out_a, grads_a = values_and_gradients(layer, [x], [layer.kernel, layer.bias])
    out_b, grads_b = values_and_gradients(reference, [x], [dense.kernel, dense.bias])
    np.testing.assert_allclose(out_a, out_b, atol=1e-6)
    # The kernel (6, 3, 4) is the dense kernel (6, 12) reshaped.
    for ga, gb in zip(grads_a, grads_b, strict=True):
        np.testing.assert_allclose(ga.reshape(gb.shape), gb, atol=1e-6)


def test_one_piece_is_a_dense_layer():
    layer = Maxout(units=2, pieces=1)
    x = random_inputs((3, 4), seed=2)
    out = np.array(layer(x))
    np.testing.assert_allclose(out, x @ np.array(layer.kernel)[:, :, 0], atol=1e-6)


@pytest.mark.parametrize("input_shape", [(2, 5), (2, 3, 5)])
def test_layer_checks(input_shape, tmp_path):
    run_layer_checks(Maxout(units=4, pieces=2), input_shape, tmp_path,
                     expected_output_shape=input_shape[:-1] + (4,))


@pytest.mark.parametrize(
    "kwargs, message",
    [({"units": 0, "pieces": 2}, "units"), ({"units": 2, "pieces": 0}, "pieces"),
     ({"units": 2.5, "pieces": 2}, "units")],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Maxout(**kwargs)
