"""Multilayer perceptron from scratch with the notes' back-propagation algorithm."""

import numpy as np
import tensorflow as tf

from kerasnotes._checks import check_choice, check_ints, check_number
from kerasnotes.losses.softmax_cross_entropy import softmax_cross_entropy

ACTIVATIONS = ("sigmoid", "tanh", "relu")


def _activation(name, a):
    if name == "sigmoid":
        return tf.sigmoid(a)
    if name == "tanh":
        return tf.tanh(a)
    return tf.nn.relu(a)


def _activation_derivative(name, a, h):
    """f'(a) given the pre-activation `a` and the activation `h = f(a)`."""
    if name == "sigmoid":
        return h * (1.0 - h)
    if name == "tanh":
        return 1.0 - tf.square(h)
    return tf.cast(a > 0, a.dtype)


class MLPScratch:
    """MLP for classification whose gradients come from the notes' back-propagation algorithm.

    Forward (row vectors, batch first): `h_0 = X`, `a_k = h_{k-1} W_k + b_k`,
    `h_k = f(a_k)` for the hidden layers, and logits `O = a_L` (no activation on the output).
    Cost: `J = mean_i H(y_i, softmax(o_i)) + lambda/2 * sum_k sum(W_k^2)` (weight decay on the
    weights, not on the biases).

    Backward, the notes' algorithm (Deep Learning, algorithm 6.4), batched:

        g <- dJ/dO = (softmax(O) - Y) / |B|
        for k = L, ..., 1:
            g <- g * f'(a_k)                      (f' = 1 on the linear output layer)
            grad_b_k = sum over the batch of g
            grad_W_k = h_{k-1}^T g + lambda W_k
            g <- g W_k^T                          (gradient w.r.t. h_{k-1})

    A plain Python class of `tf.Variable`s; tests check it equals `tf.GradientTape`.

    Args:
        layer_sizes: `(d, n_1, ..., n_{L-1}, q)`: inputs, hidden sizes, classes.
        activation: `"sigmoid"`, `"tanh"` or `"relu"`.
        weight_decay: `lambda >= 0`.
        init_stddev: weights start `~ N(0, init_stddev^2)`, biases at 0.
        seed: seed of the initial weights.

    Example:

    >>> mlp = MLPScratch((4, 8, 3), activation="relu", weight_decay=1e-3, seed=0)
    >>> X, labels = np.ones((2, 4), "float32"), np.array([0, 2])
    >>> grads = mlp.gradients(X, labels)  # [grad_W1, grad_b1, grad_W2, grad_b2]
    >>> mlp.sgd_step(X, labels, learning_rate=0.1)
    """

    def __init__(self, layer_sizes, activation="relu", weight_decay=0.0, init_stddev=0.1,
                 seed=None):
        layer_sizes = check_ints("MLPScratch", "layer_sizes", layer_sizes, min_length=2)
        self.layer_sizes = layer_sizes
        self.activation = check_choice("MLPScratch", "activation", activation, ACTIVATIONS)
        self.weight_decay = check_number("MLPScratch", "weight_decay", weight_decay, minimum=0)
        rng = np.random.default_rng(seed)
        self.weights, self.biases = [], []
        for k, (n_in, n_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:], strict=True),
                                          start=1):
            self.weights.append(tf.Variable(
                rng.normal(0.0, init_stddev, size=(n_in, n_out)).astype("float32"), name=f"W{k}"))
            self.biases.append(tf.Variable(tf.zeros((n_out,)), name=f"b{k}"))

    @property
    def variables(self):
        """`[W_1, b_1, ..., W_L, b_L]`."""
        return [v for pair in zip(self.weights, self.biases, strict=True) for v in pair]

    def forward(self, X):
        """Returns the logits and the lists of pre-activations `a_k` and activations `h_k`."""
        h = tf.convert_to_tensor(X, tf.float32)
        pre_activations, activations = [], [h]
        last = len(self.weights) - 1
        for k, (W, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            a = tf.matmul(h, W) + b
            h = a if k == last else _activation(self.activation, a)
            pre_activations.append(a)
            activations.append(h)
        return h, pre_activations, activations

    def __call__(self, X):
        """Logits `(batch, q)`."""
        return self.forward(X)[0]

    def loss(self, X, labels):
        """`J = mean cross-entropy + lambda/2 * sum of squared weights`."""
        data_loss = tf.reduce_mean(softmax_cross_entropy(labels, self(X)))
        penalty = sum(tf.reduce_sum(tf.square(W)) for W in self.weights)
        return data_loss + self.weight_decay / 2.0 * penalty

    def gradients(self, X, labels):
        """Back-propagation: the gradients of `loss(X, labels)` in the order of `variables`."""
        logits, pre_activations, activations = self.forward(X)
        one_hot = tf.one_hot(tf.cast(labels, tf.int32), self.layer_sizes[-1])
        batch_size = tf.cast(tf.shape(logits)[0], tf.float32)
        g = (tf.nn.softmax(logits, axis=-1) - one_hot) / batch_size
        grads = []
        for k in reversed(range(len(self.weights))):
            if k < len(self.weights) - 1:
                g = g * _activation_derivative(self.activation, pre_activations[k],
                                               activations[k + 1])
            grad_b = tf.reduce_sum(g, axis=0)
            grad_W = tf.matmul(activations[k], g, transpose_a=True) \
                + self.weight_decay * self.weights[k]
            grads = [grad_W, grad_b] + grads
            g = tf.matmul(g, self.weights[k], transpose_b=True)
        return grads

    def sgd_step(self, X, labels, learning_rate):
        """One update `theta <- theta - eta * grad` on the minibatch `(X, labels)`."""
        for variable, grad in zip(self.variables, self.gradients(X, labels), strict=True):
            variable.assign_sub(learning_rate * grad)
