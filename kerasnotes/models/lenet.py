"""LeNet, the first convolutional network of the notes."""

import keras

from kerasnotes._checks import check_choice, check_int
from kerasnotes.models.image_input import ImageModel

POOLING_LAYERS = {"avg": keras.layers.AveragePooling2D, "max": keras.layers.MaxPooling2D}


@keras.saving.register_keras_serializable(package="kerasnotes")
class LeNet(ImageModel):
    """LeNet: two convolution blocks, then three fully connected layers.

    The notes' structure: two blocks of (convolution 5x5, stride 1, no padding, with 6 then
    16 output channels -> sigmoid -> 2x2 pooling with stride 2), the feature map flattened
    from `(batch, h, w, c)` to `(batch, h*w*c)`, then dense layers of 120, 84 and
    `num_classes` units, sigmoid on the hidden ones. The defaults are that network (with
    average pooling, as in the original LeNet); `activation="relu", pooling="max"` gives the
    modern variant, and `batch_norm=True` inserts batch normalization before every hidden
    activation (the notes' "LeNet with batch normalization").

    Args:
        num_classes: number of output classes.
        input_shape: `(height, width, channels)`; at least 28x28 for the 5x5 kernels to fit
            (a 4x4 map remains before flattening).
        activation: hidden activation, `"sigmoid"` (the notes) or any Keras activation name.
        pooling: `"avg"` or `"max"`.
        batch_norm: add `BatchNormalization` before each hidden activation.

    Call arguments:
        inputs: float images `(batch, height, width, channels)`.
        training: whether batch normalization uses batch statistics.

    Returns:
        logits `(batch, num_classes)`.

    Example:

    >>> model = LeNet(num_classes=10, input_shape=(28, 28, 1))
    >>> model(np.zeros((2, 28, 28, 1), "float32")).shape
    TensorShape([2, 10])
    """

    def __init__(self, num_classes=10, input_shape=(28, 28, 1), activation="sigmoid",
                 pooling="avg", batch_norm=False, **kwargs):
        name = kwargs.pop("name", "lenet")
        check_choice("LeNet", "pooling", pooling, tuple(sorted(POOLING_LAYERS)))
        num_classes = check_int("LeNet", "num_classes", num_classes)
        keras.activations.get(activation)  # fails early on an unknown activation name
        pool = POOLING_LAYERS[pooling]

        def hidden(layer, index):
            block = [layer]
            if batch_norm:
                block.append(keras.layers.BatchNormalization(name=f"bn{index}"))
            block.append(keras.layers.Activation(activation, name=f"act{index}"))
            return block

        layers = [
            *hidden(keras.layers.Conv2D(6, 5, name="conv1"), 1),
            pool(pool_size=2, strides=2, name="pool1"),
            *hidden(keras.layers.Conv2D(16, 5, name="conv2"), 2),
            pool(pool_size=2, strides=2, name="pool2"),
            keras.layers.Flatten(name="flatten"),
            *hidden(keras.layers.Dense(120, name="dense1"), 3),
            *hidden(keras.layers.Dense(84, name="dense2"), 4),
            keras.layers.Dense(num_classes, name="logits"),
        ]
        arguments = {"num_classes": num_classes, "activation": activation, "pooling": pooling,
                     "batch_norm": bool(batch_norm)}
        super().__init__("LeNet", input_shape, layers, arguments, name=name, **kwargs)
