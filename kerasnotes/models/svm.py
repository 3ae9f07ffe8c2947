"""Linear support vector machine, optionally on random Fourier features (kernel trick)."""

import math

import keras
import numpy as np
from keras import ops

from kerasnotes._checks import check_int, check_number
from kerasnotes.layers.random_fourier_features import RandomFourierFeatures
from kerasnotes.layers.weight_decay import L2WeightDecay


def polynomial_features(x, c=1.0):
    """Explicit feature map `phi` of the degree-2 polynomial kernel `k(x, y) = (x . y + c)^2`.

    The notes' kernel trick: `k(x_i, x_j) = <phi(x_i), phi(x_j)>`. Expanding the square,

        phi(x) = [x_1^2, ..., x_d^2,  sqrt(2) x_i x_j (i < j),  sqrt(2c) x_1, ..., sqrt(2c) x_d,  c]

    so `<phi(x), phi(y)> = (x . y)^2 + 2c (x . y) + c^2 = (x . y + c)^2`: the kernel gives the
    same number without forming the `d(d+1)/2 + d + 1` features.

    Args:
        x: `(..., d)` with a known `d`.
        c: the kernel's constant, `>= 0`.

    Returns:
        `(..., d (d + 1) / 2 + d + 1)`.

    Example:

    >>> phi = polynomial_features(np.array([[1.0, 2.0]]), c=1.0)  # 6 features
    >>> float(ops.sum(phi * phi))  # (1 + 4 + 1)^2 = 36
    36.0
    """
    c = check_number("polynomial_features", "c", c, minimum=0)
    x = ops.convert_to_tensor(x)
    d = x.shape[-1]
    if d is None:
        raise ValueError(f"polynomial_features: the last axis of x must be known; "
                         f"received shape {x.shape}")
    rows, cols = np.triu_indices(d, k=1)
    cross = math.sqrt(2.0) * ops.take(x, rows, axis=-1) * ops.take(x, cols, axis=-1)
    constant = c * ops.ones_like(x[..., :1])
    return ops.concatenate([ops.square(x), cross, math.sqrt(2.0 * c) * x, constant], axis=-1)


@keras.saving.register_keras_serializable(package="kerasnotes")
class LinearSVM(keras.Model):
    """Linear support vector machine `f(x) = w^T x + b`; the class is `sign(f(x))`.

    The notes: the output `w^T x + b` only says on which side of the hyperplane
    `w^T x + b = 0` a point lies: `> 0` is the class `+1`, `< 0` the class `-1`. Train it with
    the hinge loss `max(0, 1 - y f(x))`, `y in {-1, +1}`, which is
    `keras.losses.Hinge()`; with `l2 > 0` the weights get the soft-margin penalty
    `l2 / 2 * |w|^2` (`L2WeightDecay`).

    With `random_features = D > 0` the model is linear in `RandomFourierFeatures(D, gamma)`
    of the input instead: the kernel trick made explicit, approximating an SVM with the RBF
    kernel `exp(-gamma |x - y|^2)`.

    Args:
        input_dim: number of input features.
        random_features: `0` for a plain linear SVM, or the number `D` of random Fourier
            features.
        gamma: RBF kernel parameter (only with `random_features > 0`).
        l2: weight decay `lambda >= 0` on `w`.
        seed: seed of the random features.

    Call arguments:
        inputs: `(batch, input_dim)`.

    Returns:
        the decision values `f(x)`, `(batch, 1)`; `predict_labels` gives `(batch,)` in
        `{-1, +1}`.

    Example:

    >>> svm = LinearSVM(input_dim=2, random_features=128, gamma=1.0, seed=0)
    >>> svm.compile(optimizer="adam", loss=keras.losses.Hinge())
    >>> svm(np.zeros((3, 2), "float32")).shape
    TensorShape([3, 1])
    """

    def __init__(self, input_dim, random_features=0, gamma=1.0, l2=0.0, seed=None, **kwargs):
        name = kwargs.pop("name", "linear_svm")
        input_dim = check_int("LinearSVM", "input_dim", input_dim)
        random_features = check_int("LinearSVM", "random_features", random_features, minimum=0)
        l2 = check_number("LinearSVM", "l2", l2, minimum=0)
        inputs = keras.Input(shape=(input_dim,), name="features")
        x = inputs
        if random_features > 0:
            x = RandomFourierFeatures(random_features, gamma=gamma, seed=seed,
                                      name="random_fourier_features")(x)
        regularizer = L2WeightDecay(l2) if float(l2) > 0 else None
        outputs = keras.layers.Dense(1, kernel_regularizer=regularizer, name="decision")(x)
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)
        self.input_dim = input_dim
        self.random_features = random_features
        self.gamma = float(gamma)
        self.l2 = float(l2)
        self.seed = seed

    def predict_labels(self, x):
        """The classes `sign(f(x))` in `{-1, +1}` (`f(x) = 0` counts as `+1`), `(batch,)`."""
        decision = self(x, training=False)[:, 0]
        return ops.where(decision >= 0, 1, -1)

    def get_config(self):
        return {
            "name": self.name,
            "input_dim": self.input_dim,
            "random_features": self.random_features,
            "gamma": self.gamma,
            "l2": self.l2,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
