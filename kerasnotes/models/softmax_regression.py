"""Softmax regression: a single dense layer on the flattened image."""

import keras

from kerasnotes.models.image_input import stack_layers, validate_image_shape


@keras.saving.register_keras_serializable(package="kerasnotes")
class SoftmaxRegression(keras.Model):
    """Softmax regression, the notes' single-layer network for classification.

    The notes' formula: `o = x W + b`, `y_hat = softmax(o)`, trained with the cross-entropy
    `H(y, y_hat) = -sum_j y_j log(y_hat_j)`. The model returns the logits `o`; pair it with
    `SparseCategoricalCrossentropy(from_logits=True)`, which fuses softmax and cross-entropy
    stably. The `(batch, height, width, channels)` image is flattened first, as the notes
    treat an image as one vector of `height*width*channels` features.

    Args:
        num_classes: number of classes `q`.
        input_shape: `(height, width, channels)` of the input images.

    Call arguments:
        inputs: float images `(batch, height, width, channels)`.

    Returns:
        logits `(batch, num_classes)`.

    Example:

    >>> model = SoftmaxRegression(num_classes=10, input_shape=(28, 28, 1))
    >>> model(np.zeros((2, 28, 28, 1), "float32")).shape
    TensorShape([2, 10])
    """

    def __init__(self, num_classes=10, input_shape=(28, 28, 1), **kwargs):
        name = kwargs.pop("name", "softmax_regression")
        shape = validate_image_shape("SoftmaxRegression", input_shape)
        if int(num_classes) < 1:
            raise ValueError(f"SoftmaxRegression: num_classes must be >= 1; received {num_classes}")
        inputs = keras.Input(shape=shape, name="images")
        layers = [
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(num_classes, name="logits"),
        ]
        outputs = stack_layers("SoftmaxRegression", shape, inputs, layers)
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)
        self.num_classes = int(num_classes)
        self.image_shape = shape

    def get_config(self):
        return {
            "name": self.name,
            "num_classes": self.num_classes,
            "input_shape": self.image_shape,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
