"""NiN, the network in network."""


import keras

from kerasnotes._checks import check_int, check_number
from kerasnotes.layers.nin_block import NiNBlock
from kerasnotes.models.image_input import ImageModel, width_function


@keras.saving.register_keras_serializable(package="kerasnotes")
class NiN(ImageModel):
    """NiN: NiN blocks with max pooling, then a NiN block with one channel per class and
    global average pooling instead of dense layers.

    The notes' layer list (every convolution followed by ReLU):

        NiNBlock(96, kernel_size=11, strides=4, padding=0)  -> maxpool 3x3, stride 2
        NiNBlock(256, kernel_size=5, strides=1, padding=2)  -> maxpool 3x3, stride 2
        NiNBlock(384, kernel_size=3, strides=1, padding=1)  -> maxpool 3x3, stride 2
        dropout 0.5
        NiNBlock(num_classes, kernel_size=3, strides=1, padding=1)
        global average pooling (one mean per channel) -> flatten to (batch, num_classes)

    As in the notes, the last block also ends with ReLU, so the logits are >= 0.
    `width_divisor` divides the channel counts 96, 256 and 384 (at least 1 remains, the
    class block keeps `num_classes` channels) for quick CPU runs.

    Args:
        num_classes: number of output classes.
        input_shape: `(height, width, channels)`, at least 67x67 (a 1x1 map remains before
            the class block); the notes use 224x224x1.
        width_divisor: integer dividing the channel counts of the first three blocks.
        dropout: drop probability before the class block, in `[0, 1)`.

    Call arguments:
        inputs: float images `(batch, height, width, channels)`.
        training: whether dropout is active.

    Returns:
        logits `(batch, num_classes)`.

    Example:

    >>> model = NiN(num_classes=10, input_shape=(67, 67, 1), width_divisor=16)
    >>> model(np.zeros((2, 67, 67, 1), "float32")).shape
    TensorShape([2, 10])
    """

    def __init__(self, num_classes=10, input_shape=(224, 224, 1), width_divisor=1,
                 dropout=0.5, **kwargs):
        name = kwargs.pop("name", "nin")
        num_classes = check_int("NiN", "num_classes", num_classes)
        width_divisor = check_int("NiN", "width_divisor", width_divisor)
        dropout = check_number("NiN", "dropout", dropout, minimum=0, exclusive_maximum=1)
        width = width_function(width_divisor)

        def pool(name):
            return keras.layers.MaxPooling2D(pool_size=3, strides=2, name=name)

        layers = [
            NiNBlock(width(96), kernel_size=11, strides=4, padding=0, name="block1"),
            pool("pool1"),
            NiNBlock(width(256), kernel_size=5, strides=1, padding=2, name="block2"),
            pool("pool2"),
            NiNBlock(width(384), kernel_size=3, strides=1, padding=1, name="block3"),
            pool("pool3"),
            keras.layers.Dropout(dropout, name="dropout"),
            NiNBlock(num_classes, kernel_size=3, strides=1, padding=1, name="block4"),
            keras.layers.GlobalAveragePooling2D(keepdims=True, name="global_pool"),
            keras.layers.Flatten(name="flatten"),
        ]
        arguments = {"num_classes": num_classes, "width_divisor": width_divisor,
                     "dropout": dropout}
        super().__init__("NiN", input_shape, layers, arguments, name=name, **kwargs)
