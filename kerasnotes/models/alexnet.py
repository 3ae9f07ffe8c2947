"""AlexNet, the first deep convolutional network of the notes."""


import keras

from kerasnotes._checks import check_int, check_number
from kerasnotes.models.image_input import ImageModel, width_function


@keras.saving.register_keras_serializable(package="kerasnotes")
class AlexNet(ImageModel):
    """AlexNet: five convolutions, three max poolings, two dropout-regularized dense layers.

    The notes' layer list (ReLU everywhere except the output and dropout layers):

        conv 96, 11x11, stride 4             -> maxpool 3x3, stride 2
        conv 256, 5x5, padding 2             -> maxpool 3x3, stride 2
        conv 384, 3x3, padding 1
        conv 384, 3x3, padding 1
        conv 256, 3x3, padding 1             -> maxpool 3x3, stride 2
        flatten -> dense 4096 -> dropout 0.5 -> dense 4096 -> dropout 0.5 -> dense num_classes

    On a 224x224 image the feature maps are 54, 26, 26, 12, 12, 12, 12 and 5 pixels wide.
    The stride-1 convolutions with padding `(k - 1) / 2` are Keras' `"same"` padding, the
    others `"valid"`. `width_divisor` divides every channel count and hidden dense width
    (at least 1 remains) for quick CPU runs; `width_divisor=1` is the notes' network.

    Args:
        num_classes: number of output classes (10 in the notes, 1000 in the paper).
        input_shape: `(height, width, channels)`, at least 67x67 (a 1x1 map remains before
            flattening); the notes use 224x224x1 (Fashion-MNIST resized).
        width_divisor: integer dividing the channel counts and the hidden dense widths.
        dropout: drop probability after each hidden dense layer, in `[0, 1)`.

    Call arguments:
        inputs: float images `(batch, height, width, channels)`.
        training: whether dropout is active.

    Returns:
        logits `(batch, num_classes)`.

    Example:

    >>> model = AlexNet(num_classes=10, input_shape=(67, 67, 1), width_divisor=16)
    >>> model(np.zeros((2, 67, 67, 1), "float32")).shape
    TensorShape([2, 10])
    """

    def __init__(self, num_classes=10, input_shape=(224, 224, 1), width_divisor=1,
                 dropout=0.5, **kwargs):
        name = kwargs.pop("name", "alexnet")
        num_classes = check_int("AlexNet", "num_classes", num_classes)
        width_divisor = check_int("AlexNet", "width_divisor", width_divisor)
        dropout = check_number("AlexNet", "dropout", dropout, minimum=0, exclusive_maximum=1)
        width = width_function(width_divisor)

        def conv(filters, kernel_size, name, strides=1, padding="same"):
            return keras.layers.Conv2D(width(filters), kernel_size, strides=strides,
                                       padding=padding, activation="relu", name=name)

        def pool(name):
            return keras.layers.MaxPooling2D(pool_size=3, strides=2, name=name)

        layers = [
            conv(96, 11, "conv1", strides=4, padding="valid"),
            pool("pool1"),
            conv(256, 5, "conv2"),
            pool("pool2"),
            conv(384, 3, "conv3"),
            conv(384, 3, "conv4"),
            conv(256, 3, "conv5"),
            pool("pool3"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(width(4096), activation="relu", name="dense1"),
            keras.layers.Dropout(dropout, name="dropout1"),
            keras.layers.Dense(width(4096), activation="relu", name="dense2"),
            keras.layers.Dropout(dropout, name="dropout2"),
            keras.layers.Dense(num_classes, name="logits"),
        ]
        arguments = {"num_classes": num_classes, "width_divisor": width_divisor,
                     "dropout": dropout}
        super().__init__("AlexNet", input_shape, layers, arguments, name=name, **kwargs)
