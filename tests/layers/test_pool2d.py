import keras
import numpy as np
import pytest

from kerasnotes.layers.pool2d import Pool2D
from tests.test_case import assert_same_values_and_gradients, random_inputs, run_layer_checks

KERAS_POOLS = {"max": keras.layers.MaxPooling2D, "avg": keras.layers.AveragePooling2D}

CASES = [
    ((2, 6, 6, 3), 2, None, "valid"),
    ((2, 7, 9, 2), 2, None, "valid"),
    ((2, 7, 9, 2), 3, 2, "valid"),
    ((1, 8, 7, 3), (3, 2), (2, 3), "valid"),
    ((2, 7, 9, 2), 2, None, "same"),
    ((2, 7, 8, 2), 3, 2, "same"),
    ((1, 8, 7, 3), (3, 2), (2, 3), "same"),
    ((1, 5, 5, 1), 3, 1, "same"),
    ((1, 9, 10, 2), 4, 3, "same"),
]


def numpy_pool(x, pool, stride, mode):
    """The notes' definition, one output element at a time ("valid" padding)."""
    n, h, w, c = x.shape
    out = np.zeros((n, (h - pool) // stride + 1, (w - pool) // stride + 1, c), "float64")
    reduce = np.max if mode == "max" else np.mean
    for i in range(out.shape[1]):
        for j in range(out.shape[2]):
            window = x[:, i * stride:i * stride + pool, j * stride:j * stride + pool, :]
            out[:, i, j, :] = reduce(window, axis=(1, 2))
    return out


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_matches_numpy_loop(mode):
    x = random_inputs((2, 7, 6, 3), seed=1)
    ours = np.array(Pool2D(3, strides=2, mode=mode)(x))
    np.testing.assert_allclose(ours, numpy_pool(x, 3, 2, mode), atol=1e-6)


def test_hand_example():
    # d2l's example: X = 0..8 as 3x3, 2x2 window, stride 1.
    x = np.arange(9, dtype="float32").reshape(1, 3, 3, 1)
    np.testing.assert_array_equal(
        np.array(Pool2D(2, strides=1, mode="max")(x))[0, :, :, 0], [[4, 5], [7, 8]]
    )
    np.testing.assert_array_equal(
        np.array(Pool2D(2, strides=1, mode="avg")(x))[0, :, :, 0], [[2, 3], [5, 6]]
    )


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("input_shape,pool_size,strides,padding", CASES)
def test_equals_keras_pooling(mode, input_shape, pool_size, strides, padding):
    ours = Pool2D(pool_size, strides=strides, padding=padding, mode=mode)
    reference = KERAS_POOLS[mode](pool_size, strides=strides, padding=padding)
    x = random_inputs(input_shape, seed=2)
    assert_same_values_and_gradients(ours, reference, [x])
    assert ours.compute_output_shape(input_shape) == reference.compute_output_shape(
        input_shape
    )


def test_same_avg_pooling_averages_only_real_elements():
    # A 3x3 window centred on a corner covers 4 real elements and 5 padded ones: Keras
    # (and this layer) divide by 4, not 9.
    x = np.ones((1, 4, 4, 1), "float32")
    y = np.array(Pool2D(3, strides=1, padding="same", mode="avg")(x))
    np.testing.assert_allclose(y, np.ones_like(y), atol=1e-6)
    x = random_inputs((1, 4, 4, 1), seed=3)
    corner = np.array(Pool2D(3, strides=1, padding="same", mode="avg")(x))[0, 0, 0, 0]
    np.testing.assert_allclose(corner, x[0, :2, :2, 0].mean(), atol=1e-6)


def test_same_max_pooling_ignores_padding():
    # All inputs negative: zero padding would leak 0 into border windows; -inf does not.
    x = -1.0 - random_inputs((1, 5, 5, 2), seed=4, low=0.0)
    y = np.array(Pool2D(2, padding="same", mode="max")(x))
    assert (y < 0).all()
    np.testing.assert_allclose(y[0, 2, 2], x[0, 4, 4], atol=0)


def test_channels_are_not_added():
    x = random_inputs((2, 6, 6, 5), seed=5)
    y = np.array(Pool2D(2, mode="max")(x))
    assert y.shape == (2, 3, 3, 5)
    for c in range(5):
        np.testing.assert_array_equal(y[..., c], np.array(Pool2D(2)(x[..., c:c + 1]))[..., 0])


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_unknown_spatial_size(mode):
    inputs = keras.Input((None, None, 2))
    model = keras.Model(inputs, Pool2D(3, strides=2, padding="same", mode=mode)(inputs))
    reference = KERAS_POOLS[mode](3, strides=2, padding="same")
    for shape in [(1, 7, 8, 2), (2, 6, 5, 2)]:
        x = random_inputs(shape, seed=6)
        np.testing.assert_allclose(np.array(model(x)), np.array(reference(x)), atol=1e-6)


@pytest.mark.parametrize("kwargs,input_shape,output_shape", [
    (dict(pool_size=2, mode="max"), (2, 6, 5, 3), (2, 3, 2, 3)),
    (dict(pool_size=3, strides=2, padding="same", mode="avg"), (2, 7, 7, 2), (2, 4, 4, 2)),
])
def test_layer_checks(kwargs, input_shape, output_shape, tmp_path):
    run_layer_checks(Pool2D(**kwargs), input_shape, tmp_path,
                     expected_output_shape=output_shape)


@pytest.mark.parametrize("kwargs,match", [
    (dict(pool_size=0), "pool_size"),
    (dict(pool_size=(2, -2)), "pool_size"),
    (dict(pool_size=2.0), "pool_size"),
    (dict(pool_size=2, strides=0), "strides"),
    (dict(pool_size=2, padding="full"), "padding"),
    (dict(pool_size=2, padding=1), "padding"),
    (dict(pool_size=2, mode="min"), "mode"),
])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Pool2D(**kwargs)


def test_wrong_input_rank_names_layer_and_shape():
    with pytest.raises(ValueError, match=r"my_pool.*\(2, 6, 3\)"):
        Pool2D(2, name="my_pool")(np.zeros((2, 6, 3), "float32"))


def test_window_larger_than_input_raises():
    with pytest.raises(ValueError, match=r"does not fit.*\(1, 2, 5, 1\)"):
        Pool2D(3)(np.zeros((1, 2, 5, 1), "float32"))
