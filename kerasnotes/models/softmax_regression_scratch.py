"""Softmax regression from scratch with its closed-form gradient (no Keras layers)."""

import numpy as np
import tensorflow as tf

from kerasnotes._checks import check_int
from kerasnotes.losses.softmax_cross_entropy import softmax_cross_entropy


class SoftmaxRegressionScratch:
    """Softmax regression `O = X W + b`, `y_hat = softmax(O)`, with the closed-form gradient.

    The cost is the notes' cross-entropy `J = 1/|B| sum_i H(y_i, softmax(o_i))`. Its gradient
    with respect to the logits is `(softmax(O) - Y) / |B|` (`Y` one-hot), hence

        grad_W = X^T (softmax(O) - Y) / |B|,    grad_b = sum_i (softmax(o_i) - y_i) / |B|

    and minibatch SGD `theta <- theta - eta * grad`. A plain Python class of `tf.Variable`s.

    Args:
        num_inputs: number of input features `d` (flatten images first).
        num_classes: number of classes `q`.
        init_stddev: weights start `~ N(0, init_stddev^2)`, biases at 0.
        seed: seed of the initial weights.

    Attributes:
        W: `(d, q)` weights; b: `(q,)` biases.

    Example:

    >>> model = SoftmaxRegressionScratch(num_inputs=4, num_classes=3, seed=0)
    >>> X, labels = np.ones((2, 4), "float32"), np.array([0, 2])
    >>> model.sgd_step(X, labels, learning_rate=0.1)
    >>> model(X).shape  # logits
    TensorShape([2, 3])
    """

    def __init__(self, num_inputs, num_classes, init_stddev=0.01, seed=None):
        self.num_inputs = check_int("SoftmaxRegressionScratch", "num_inputs", num_inputs)
        self.num_classes = check_int("SoftmaxRegressionScratch", "num_classes", num_classes,
                                     minimum=2)
        rng = np.random.default_rng(seed)
        self.W = tf.Variable(rng.normal(0.0, init_stddev, size=(self.num_inputs, self.num_classes))
                             .astype("float32"), name="W")
        self.b = tf.Variable(tf.zeros((self.num_classes,)), name="b")

    @property
    def variables(self):
        return [self.W, self.b]

    def __call__(self, X):
        """Logits `O = X W + b`, `(batch, q)`."""
        return tf.matmul(tf.convert_to_tensor(X, tf.float32), self.W) + self.b

    def loss(self, X, labels):
        """Mean softmax cross-entropy against integer `labels` `(batch,)`."""
        return tf.reduce_mean(softmax_cross_entropy(labels, self(X)))

    def gradients(self, X, labels):
        """Closed-form `(grad_W, grad_b)` of `loss(X, labels)`."""
        X = tf.convert_to_tensor(X, tf.float32)
        probabilities = tf.nn.softmax(self(X), axis=-1)
        one_hot = tf.one_hot(tf.cast(labels, tf.int32), self.num_classes)
        batch_size = tf.cast(tf.shape(X)[0], tf.float32)
        d_logits = (probabilities - one_hot) / batch_size
        return tf.matmul(X, d_logits, transpose_a=True), tf.reduce_sum(d_logits, axis=0)

    def sgd_step(self, X, labels, learning_rate):
        """One update `theta <- theta - eta * grad` on the minibatch `(X, labels)`."""
        for variable, grad in zip(self.variables, self.gradients(X, labels), strict=True):
            variable.assign_sub(learning_rate * grad)
