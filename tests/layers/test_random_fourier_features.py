import math

import numpy as np
import pytest

from kerasnotes.layers.random_fourier_features import RandomFourierFeatures
from tests.test_case import random_inputs, run_layer_checks

Z = 5.0


def test_inner_products_approximate_the_rbf_kernel():
    D, gamma = 4096, 0.5
    far = random_inputs((8, 3), seed=0, low=-1.5, high=1.5)
    x = np.concatenate([far, far[:2] + 0.1])  # far pairs and two near pairs
    z = np.array(RandomFourierFeatures(D, gamma=gamma, seed=1)(x)).astype("float64")
    approx = z @ z.T
    sq_dist = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    exact = np.exp(-gamma * sq_dist)
    assert exact.min() < 0.1 and exact[~np.eye(10, dtype=bool)].max() > 0.95  # near and far pairs
    # Each term 2 cos(w.x + b) cos(w.y + b) = cos(w.(x-y)) + cos(w.(x+y) + 2b) has mean k and
    # variance (1 + k^4)/2 - k^2 + 1/2 = 1 - k^2 + k^4/2; the average of D terms has that / D.
    std = np.sqrt((1 - exact ** 2 + exact ** 4 / 2) / D)
    assert np.all(np.abs(approx - exact) <= Z * std)
    assert np.abs(approx - exact).max() > 0  # it is an approximation, not the exact kernel


def test_weights_follow_their_distributions():
    D, gamma, d = 4096, 2.0, 5
    layer = RandomFourierFeatures(D, gamma=gamma, seed=2)
    layer.build((None, d))
    kernel = np.array(layer.kernel).astype("float64")
    bias = np.array(layer.bias)
    n, sigma = kernel.size, math.sqrt(2 * gamma)
    assert abs(kernel.mean()) <= Z * sigma / math.sqrt(n)
    assert abs(kernel.var() - sigma ** 2) <= Z * sigma ** 2 * math.sqrt(2 / n)
    assert bias.min() >= 0 and bias.max() < 2 * math.pi
    assert abs(bias.mean() - math.pi) <= Z * (2 * math.pi / math.sqrt(12)) / math.sqrt(D)
    assert not layer.trainable_weights and len(layer.non_trainable_weights) == 2


def test_output_is_the_formula():
    layer = RandomFourierFeatures(16, gamma=1.0, seed=3)
    x = random_inputs((4, 3), seed=4)
    out = np.array(layer(x))
    expected = math.sqrt(2 / 16) * np.cos(x @ np.array(layer.kernel) + np.array(layer.bias))
    np.testing.assert_allclose(out, expected, atol=1e-6)


@pytest.mark.parametrize("input_shape", [(2, 3), (2, 4, 3)])
def test_layer_checks(input_shape, tmp_path):
    run_layer_checks(RandomFourierFeatures(8, gamma=0.5, seed=0), input_shape, tmp_path,
                     expected_output_shape=input_shape[:-1] + (8,))


@pytest.mark.parametrize(
    "kwargs, message",
    [({"output_dim": 0}, "output_dim"), ({"output_dim": 4, "gamma": 0.0}, "gamma"),
     ({"output_dim": 4, "gamma": -1.0}, "gamma"), ({"output_dim": 4, "seed": "x"}, "seed")],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RandomFourierFeatures(**kwargs)
