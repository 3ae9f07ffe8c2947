"""regression_mlp: linear regression with no hidden layer, an MLP with some."""

import numpy as np

from kerasnotes.models.regression_mlp import regression_mlp


def test_linear_regression_is_x_w_plus_b():
    model = regression_mlp(3)
    assert [layer.name for layer in model.layers[1:]] == ["prediction"]
    w, b = np.array([[1.0], [-2.0], [0.5]], "float32"), np.array([0.25], "float32")
    model.get_layer("prediction").set_weights([w, b])
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    np.testing.assert_allclose(model(x), x @ w + b, rtol=1e-6)


def test_hidden_layers_are_relu_dense_layers_in_order():
    model = regression_mlp(5, hidden_units=(8, 4))
    assert [layer.name for layer in model.layers[1:]] == ["hidden1", "hidden2", "prediction"]
    assert [layer.units for layer in model.layers[1:]] == [8, 4, 1]
    assert model.get_layer("hidden1").activation.__name__ == "relu"
    assert model.output_shape == (None, 1)
