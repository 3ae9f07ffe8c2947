"""L2 weight decay as a Keras regularizer: the notes' lambda/2 * sum(w^2)."""


import keras
from keras import ops

from kerasnotes._checks import check_number


@keras.saving.register_keras_serializable(package="kerasnotes")
class L2WeightDecay(keras.regularizers.Regularizer):
    """Weight decay penalty `lambda/2 * sum_{w in W} w^2`, added to the cost.

    The notes' new cost is `J(theta) + lambda/2 * sum w^2`; the penalty's gradient is
    `lambda * w`, so SGD shrinks every weight by `eta * lambda * w` each step (hence
    "decay"). Apply it to weights, not to biases (the notes' "const"). Note the `1/2`:
    `L2WeightDecay(lam)` equals `keras.regularizers.L2(lam / 2)`.

    Args:
        weight_decay: `lambda >= 0`.

    Example:

    >>> layer = keras.layers.Dense(3, kernel_regularizer=L2WeightDecay(1e-3))
    >>> L2WeightDecay(0.5)(np.array([1.0, -2.0]))  # 0.5 / 2 * 5 = 1.25
    """

    def __init__(self, weight_decay=0.01):
        self.weight_decay = check_number("L2WeightDecay", "weight_decay", weight_decay,
                                         minimum=0)

    def __call__(self, x):
        return self.weight_decay / 2.0 * ops.sum(ops.square(x))

    def get_config(self):
        return {"weight_decay": self.weight_decay}
