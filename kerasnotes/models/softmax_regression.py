"""Softmax regression: a single dense layer on the flattened image."""

import keras

from kerasnotes._checks import check_int
from kerasnotes.models.image_input import ImageModel


@keras.saving.register_keras_serializable(package="kerasnotes")
class SoftmaxRegression(ImageModel):
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
        num_classes = check_int("SoftmaxRegression", "num_classes", num_classes)
        layers = [
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(num_classes, name="logits"),
        ]
        super().__init__("SoftmaxRegression", input_shape, layers, {"num_classes": num_classes},
                         name=name, **kwargs)
