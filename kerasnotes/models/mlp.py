"""Multilayer perceptron on flattened images."""

import keras

from kerasnotes._checks import check_int, check_ints, check_number
from kerasnotes.models.image_input import ImageModel


@keras.saving.register_keras_serializable(package="kerasnotes")
class MLP(ImageModel):
    """Multilayer perceptron: fully connected hidden layers with an activation, then logits.

    The notes' formula for each hidden layer: `H = phi(X W_h + b_h)`; the output layer has no
    activation: `O = H W_o + b_o` (logits; softmax is fused into the loss). With
    `dropout > 0`, inverted dropout follows each hidden layer during training.

    Args:
        num_classes: number of output classes.
        input_shape: `(height, width, channels)`; the image is flattened.
        hidden_units: sizes of the hidden layers, e.g. `(256,)` as in the notes.
        activation: activation of the hidden layers (`"relu"`, `"sigmoid"`, `"tanh"`, ...).
        dropout: drop probability after each hidden layer, in `[0, 1)`.

    Call arguments:
        inputs: float images `(batch, height, width, channels)`.
        training: whether dropout is active.

    Returns:
        logits `(batch, num_classes)`.

    Example:

    >>> model = MLP(num_classes=10, hidden_units=(256,))
    >>> model(np.zeros((2, 28, 28, 1), "float32")).shape
    TensorShape([2, 10])
    """

    def __init__(self, num_classes=10, input_shape=(28, 28, 1), hidden_units=(256,),
                 activation="relu", dropout=0.0, **kwargs):
        name = kwargs.pop("name", "mlp")
        num_classes = check_int("MLP", "num_classes", num_classes)
        hidden_units = check_ints("MLP", "hidden_units", hidden_units, min_length=0)
        dropout = check_number("MLP", "dropout", dropout, minimum=0, exclusive_maximum=1)
        layers = [keras.layers.Flatten(name="flatten")]
        for i, units in enumerate(hidden_units):
            layers.append(keras.layers.Dense(units, activation=activation, name=f"hidden{i + 1}"))
            if dropout > 0:
                layers.append(keras.layers.Dropout(dropout, name=f"dropout{i + 1}"))
        layers.append(keras.layers.Dense(num_classes, name="logits"))
        arguments = {"num_classes": num_classes, "hidden_units": hidden_units,
                     "activation": activation, "dropout": dropout}
        super().__init__("MLP", input_shape, layers, arguments, name=name, **kwargs)
