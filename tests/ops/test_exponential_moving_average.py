import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.ops.exponential_moving_average import exponential_moving_average
from tests.test_case import assert_same_values_and_gradients, random_inputs


def numpy_ema(x, gamma, initial=None):
    y = np.zeros_like(x[0]) if initial is None else np.array(initial)
    out = []
    for x_t in x:
        y = gamma * y + (1 - gamma) * x_t
        out.append(y)
    return np.stack(out)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 0.9, 0.999, 1.0])
@pytest.mark.parametrize("shape", [(20,), (15, 3, 2)])
def test_matches_numpy_loop(gamma, shape):
    x = random_inputs(shape, seed=0)
    np.testing.assert_allclose(np.array(exponential_moving_average(x, gamma)),
                               numpy_ema(x, gamma), atol=1e-6)


def test_initial_value():
    x = random_inputs((10, 4), seed=1)
    initial = random_inputs((4,), seed=2)
    np.testing.assert_allclose(np.array(exponential_moving_average(x, 0.8, initial=initial)),
                               numpy_ema(x, 0.8, initial), atol=1e-6)


def test_constant_input_converges_geometrically():
    # With y_0 = 0 and x_t = 1: y_t = 1 - gamma^t.
    out = np.array(exponential_moving_average(np.ones(30, "float32"), 0.9))
    np.testing.assert_allclose(out, 1 - 0.9 ** np.arange(1, 31), atol=1e-6)


def test_gradients_match_an_unrolled_loop():
    def unrolled(x):
        y, out = tf.zeros_like(x[0]), []
        for t in range(x.shape[0]):
            y = 0.7 * y + 0.3 * x[t]
            out.append(y)
        return tf.stack(out)

    assert_same_values_and_gradients(lambda x: exponential_moving_average(x, 0.7), unrolled,
                                     [random_inputs((8, 3), seed=3)])


@pytest.mark.parametrize(
    "kwargs, message",
    [({"gamma": 1.5}, "gamma"), ({"gamma": -0.1}, "gamma"), ({"gamma": float("nan")}, "gamma"),
     ({"gamma": 0.5, "initial": np.zeros(3)}, "initial")],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        exponential_moving_average(np.zeros((4, 2), "float32"), **kwargs)


def test_scalar_input_is_rejected():
    with pytest.raises(ValueError, match="time axis"):
        exponential_moving_average(np.float32(1.0), 0.5)
