"""Linear regression from scratch: closed-form gradient and minibatch SGD (no Keras layers)."""

import numpy as np
import tensorflow as tf

from kerasnotes._checks import check_int, check_number
from kerasnotes.losses.squared_loss import squared_loss


class LinearRegressionScratch:
    """Linear regression `y_hat = X w + b` trained by minibatch SGD with the notes' gradient.

    With the squared loss `l = (y_hat - y)^2 / 2` the notes' update for a minibatch `B` is

        w <- w - eta/|B| * sum_{i in B} x_i (y_hat_i - y_i)
        b <- b - eta/|B| * sum_{i in B} (y_hat_i - y_i)

    written here with matrices: `grad_w = X^T (y_hat - y) / |B|`, `grad_b = mean(y_hat - y)`.
    A plain Python class holding `tf.Variable`s, as the notes build it before using Gluon/Keras.

    Args:
        num_features: number of input features `d`.
        init_stddev: weights start `~ N(0, init_stddev^2)` (d2l uses 0.01), bias at 0.
        seed: seed of the initial weights.

    Attributes:
        w: `(d, 1)` weights; b: `(1,)` bias.

    Example:

    >>> model = LinearRegressionScratch(num_features=2, seed=0)
    >>> X = np.random.normal(size=(100, 2)).astype("float32")
    >>> y = X @ np.array([[2.0], [-3.4]], "float32") + 4.2
    >>> losses = model.fit(X, y, epochs=3, batch_size=10, learning_rate=0.03)
    """

    def __init__(self, num_features, init_stddev=0.01, seed=None):
        self.num_features = check_int("LinearRegressionScratch", "num_features", num_features)
        init_stddev = check_number("LinearRegressionScratch", "init_stddev", init_stddev,
                                   minimum=0)
        rng = np.random.default_rng(seed)
        self.w = tf.Variable(
            rng.normal(0.0, init_stddev, size=(self.num_features, 1)).astype("float32"), name="w")
        self.b = tf.Variable(tf.zeros((1,)), name="b")

    @property
    def variables(self):
        return [self.w, self.b]

    def __call__(self, X):
        """Predictions `X w + b`, `(batch, 1)`."""
        return tf.matmul(tf.convert_to_tensor(X, tf.float32), self.w) + self.b

    def loss(self, X, y):
        """The cost `J = 1/|B| sum_i (y_hat_i - y_i)^2 / 2`."""
        return tf.reduce_mean(squared_loss(tf.reshape(y, (-1, 1)), self(X)))

    def gradients(self, X, y):
        """Closed-form `(grad_w, grad_b)` of `loss(X, y)`, from the notes' update rule."""
        X = tf.convert_to_tensor(X, tf.float32)
        error = self(X) - tf.reshape(tf.cast(y, tf.float32), (-1, 1))  # y_hat - y, (B, 1)
        batch_size = tf.cast(tf.shape(X)[0], tf.float32)
        grad_w = tf.matmul(X, error, transpose_a=True) / batch_size
        grad_b = tf.reduce_sum(error, axis=0) / batch_size
        return grad_w, grad_b

    def sgd_step(self, X, y, learning_rate):
        """One update `theta <- theta - eta * grad` on the minibatch `(X, y)`."""
        for variable, grad in zip(self.variables, self.gradients(X, y), strict=True):
            variable.assign_sub(learning_rate * grad)

    def fit(self, X, y, epochs=3, batch_size=10, learning_rate=0.03, seed=None):
        """Minibatch SGD over shuffled batches; returns the full-data loss after each epoch."""
        batch_size = check_int("LinearRegressionScratch.fit", "batch_size", batch_size)
        X = np.asarray(X, "float32")
        y = np.asarray(y, "float32").reshape(-1, 1)
        if X.shape != (len(y), self.num_features):
            raise ValueError(f"LinearRegressionScratch.fit: X must be (n, {self.num_features}) "
                             f"with n = len(y) = {len(y)}; received X.shape={X.shape}")
        rng = np.random.default_rng(seed)
        history = []
        for _ in range(int(epochs)):
            order = rng.permutation(len(X))
            for start in range(0, len(X), int(batch_size)):
                batch = order[start:start + int(batch_size)]
                self.sgd_step(X[batch], y[batch], learning_rate)
            history.append(float(self.loss(X, y)))
        return history
