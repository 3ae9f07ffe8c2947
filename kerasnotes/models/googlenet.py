"""GoogLeNet, the network of Inception blocks."""


import keras

from kerasnotes._checks import check_int
from kerasnotes.layers.inception import Inception
from kerasnotes.models.image_input import ImageModel, width_function

# The notes' Inception blocks `(n1, (n21, n22), (n31, n32), n4)` of stages 3, 4 and 5.
GOOGLENET_INCEPTIONS = (
    (
        (64, (96, 128), (16, 32), 32),
        (128, (128, 192), (32, 96), 64),
    ),
    (
        (192, (96, 208), (16, 48), 64),
        (160, (112, 224), (24, 64), 64),
        (128, (128, 256), (24, 64), 64),
        (112, (144, 288), (32, 64), 64),
        (256, (160, 320), (32, 128), 128),
    ),
    (
        (256, (160, 320), (32, 128), 128),
        (384, (192, 384), (48, 128), 128),
    ),
)


@keras.saving.register_keras_serializable(package="kerasnotes")
class GoogLeNet(ImageModel):
    """GoogLeNet: five stages (two convolutional, three of Inception blocks), then dense.

    The notes' structure (every convolution followed by ReLU; "pool" is a 3x3 max pooling
    with stride 2 and padding 1 between stages):

        stage 1: conv 64, 7x7, stride 2, padding 3 -> pool
        stage 2: conv 64, 1x1 -> conv 192, 3x3, padding 1 -> pool
        stage 3: Inception(64, (96, 128), (16, 32), 32)
                 Inception(128, (128, 192), (32, 96), 64) -> pool
        stage 4: Inception(192, (96, 208), (16, 48), 64)
                 Inception(160, (112, 224), (24, 64), 64)
                 Inception(128, (128, 256), (24, 64), 64)
                 Inception(112, (144, 288), (32, 64), 64)
                 Inception(256, (160, 320), (32, 128), 128) -> pool
        stage 5: Inception(256, (160, 320), (32, 128), 128)
                 Inception(384, (192, 384), (48, 128), 128) -> global average pooling
        dense num_classes

    The stride-2 layers pad symmetrically as in the notes (a `ZeroPadding2D` first; zeros
    are neutral for the max poolings because their inputs are ReLU outputs, >= 0), so each
    stride-2 layer maps a side `n` to `ceil(n / 2)`: 96 -> 48 -> 24 -> 12 -> 6 -> 3.
    `width_divisor` divides every channel count (at least 1 remains) for quick CPU runs.

    Args:
        num_classes: number of output classes.
        input_shape: `(height, width, channels)`; any size works, the notes use 96x96x1.
        width_divisor: integer dividing every convolution's channel count.

    Call arguments:
        inputs: float images `(batch, height, width, channels)`.

    Returns:
        logits `(batch, num_classes)`.

    Example:

    >>> model = GoogLeNet(num_classes=10, input_shape=(32, 32, 1), width_divisor=16)
    >>> model(np.zeros((2, 32, 32, 1), "float32")).shape
    TensorShape([2, 10])
    """

    def __init__(self, num_classes=10, input_shape=(96, 96, 1), width_divisor=1, **kwargs):
        name = kwargs.pop("name", "googlenet")
        num_classes = check_int("GoogLeNet", "num_classes", num_classes)
        width_divisor = check_int("GoogLeNet", "width_divisor", width_divisor)
        width = width_function(width_divisor)

        def pool(stage):
            return [
                keras.layers.ZeroPadding2D(1, name=f"b{stage}_pool_pad"),
                keras.layers.MaxPooling2D(pool_size=3, strides=2, name=f"b{stage}_pool"),
            ]

        layers = [
            keras.layers.ZeroPadding2D(3, name="b1_pad"),
            keras.layers.Conv2D(width(64), 7, strides=2, activation="relu", name="b1_conv"),
            *pool(1),
            keras.layers.Conv2D(width(64), 1, activation="relu", name="b2_conv1"),
            keras.layers.Conv2D(width(192), 3, padding="same", activation="relu",
                                name="b2_conv2"),
            *pool(2),
        ]
        for stage, blocks in enumerate(GOOGLENET_INCEPTIONS, start=3):
            for i, (n1, (n21, n22), (n31, n32), n4) in enumerate(blocks):
                layers.append(Inception(width(n1), (width(n21), width(n22)),
                                        (width(n31), width(n32)), width(n4),
                                        name=f"b{stage}_inception{i + 1}"))
            if stage < 5:
                layers += pool(stage)
        layers += [
            keras.layers.GlobalAveragePooling2D(name="global_pool"),
            keras.layers.Dense(num_classes, name="logits"),
        ]
        arguments = {"num_classes": num_classes, "width_divisor": width_divisor}
        super().__init__("GoogLeNet", input_shape, layers, arguments, name=name, **kwargs)
