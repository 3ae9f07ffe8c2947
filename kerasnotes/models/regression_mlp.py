"""Regression on feature vectors with Keras layers: linear regression, or an MLP."""

import keras


def regression_mlp(num_features, hidden_units=()):
    """A functional `keras.Model` from `(batch, num_features)` features to `(batch, 1)` predictions.

    With no hidden layer it is the notes' concise linear regression `y_hat = X w + b` (the
    model of d2l's optimizer chapter); each of `hidden_units` adds a `Dense(relu)` layer
    (`hidden1`, `hidden2`, ...) before the linear output `prediction`.

    Example:

    >>> regression_mlp(5).count_params()   # 5 weights and a bias
    6
    >>> regression_mlp(5, hidden_units=(8,)).output_shape
    (None, 1)
    """
    inputs = keras.Input((num_features,), name="features")
    x = inputs
    for i, units in enumerate(hidden_units):
        x = keras.layers.Dense(units, activation="relu", name=f"hidden{i + 1}")(x)
    return keras.Model(inputs, keras.layers.Dense(1, name="prediction")(x), name="regression")
