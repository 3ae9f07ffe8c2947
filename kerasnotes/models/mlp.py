"""Multilayer perceptron on flattened images."""

import keras

from kerasnotes.models.image_input import stack_layers, validate_image_shape


@keras.saving.register_keras_serializable(package="kerasnotes")
class MLP(keras.Model):
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
        shape = validate_image_shape("MLP", input_shape)
        hidden_units = tuple(int(u) for u in hidden_units)
        if any(u < 1 for u in hidden_units):
            raise ValueError(f"MLP: hidden_units must be positive; received {hidden_units}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"MLP: dropout must be in [0, 1); received dropout={dropout}")
        inputs = keras.Input(shape=shape, name="images")
        layers = [keras.layers.Flatten(name="flatten")]
        for i, units in enumerate(hidden_units):
            layers.append(keras.layers.Dense(units, activation=activation, name=f"hidden{i + 1}"))
            if dropout > 0:
                layers.append(keras.layers.Dropout(dropout, name=f"dropout{i + 1}"))
        layers.append(keras.layers.Dense(num_classes, name="logits"))
        outputs = stack_layers("MLP", shape, inputs, layers)
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)
        self.num_classes = int(num_classes)
        self.image_shape = shape
        self.hidden_units = hidden_units
        self.activation = activation
        self.dropout = float(dropout)

    def get_config(self):
        return {
            "name": self.name,
            "num_classes": self.num_classes,
            "input_shape": self.image_shape,
            "hidden_units": self.hidden_units,
            "activation": self.activation,
            "dropout": self.dropout,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
