"""ResNet, the network of residual blocks."""


import keras

from kerasnotes._checks import check_choice, check_int
from kerasnotes.layers.residual import Residual
from kerasnotes.models.image_input import ImageModel, width_function

# Depth -> (output channels, number of residual blocks) of each of the four groups.
RESNET_SPECS = {
    18: ((64, 2), (128, 2), (256, 2), (512, 2)),
    34: ((64, 3), (128, 4), (256, 6), (512, 3)),
}



def stem_layers(channels):
    """The ResNet / DenseNet stem: 7x7 convolution, stride 2, padding 3, batch norm, ReLU,
    then 3x3 max pooling, stride 2, padding 1 (input size / 4)."""
    return [
        keras.layers.ZeroPadding2D(3, name="stem_pad"),
        keras.layers.Conv2D(channels, 7, strides=2, name="stem_conv"),
        keras.layers.BatchNormalization(name="stem_bn"),
        keras.layers.ReLU(name="stem_relu"),
        keras.layers.ZeroPadding2D(1, name="stem_pool_pad"),
        keras.layers.MaxPooling2D(pool_size=3, strides=2, name="stem_pool"),
    ]


def resnet_trunk_layers(width_divisor=1, groups=4, depth=18):
    """The layers of ResNet's feature extractor: stem and the first `groups` residual groups.

    The layers, with their names, of `ResNet(depth)` up to `group{groups}_block{last}`:
    `ResNet` adds its global pooling and dense head, `FCN` its 1x1 scores and upsampling,
    so weights move between the two by layer name (`FCN.load_backbone_weights`). The
    stride is `4 * 2 ** (groups - 1)`: 32 for all four groups.
    """
    width = width_function(width_divisor)
    specs = RESNET_SPECS[depth]
    layers = stem_layers(width(specs[0][0]))
    for group, (channels, blocks) in enumerate(specs[:groups], start=1):
        for block in range(blocks):
            downsample = group > 1 and block == 0
            layers.append(Residual(width(channels), use_1x1conv=downsample,
                                   strides=2 if downsample else 1,
                                   name=f"group{group}_block{block + 1}"))
    return layers


@keras.saving.register_keras_serializable(package="kerasnotes")
class ResNet(ImageModel):
    """ResNet: a 7x7 stem, four groups of residual blocks, global average pooling, dense.

    The notes' ResNet-18:

        stem: conv 64, 7x7, stride 2, padding 3 -> BN -> ReLU -> maxpool 3x3, stride 2,
              padding 1
        group 1: 2 x Residual(64)                       (same channels as the stem)
        group 2: Residual(128, use_1x1conv=True, strides=2), Residual(128)
        group 3: Residual(256, use_1x1conv=True, strides=2), Residual(256)
        group 4: Residual(512, use_1x1conv=True, strides=2), Residual(512)
        global average pooling -> dense num_classes

    i.e. the first block of groups 2-4 doubles the channels and halves the size with a
    stride-2 3x3 convolution and a stride-2 1x1 convolution on the shortcut. 1 + 4 * 2 * 2
    + 1 = 18 layers with weights (not counting the 1x1 shortcuts). `RESNET_SPECS[depth]`
    lists `(channels, blocks)` per group (18 and 34 use these two-convolution blocks).
    The stride-2 stem layers pad symmetrically as in the notes (`ZeroPadding2D` first;
    zeros are neutral for the max pooling since its input is a ReLU output), so a side `n`
    becomes `ceil(n / 2)`: 96 -> 48 -> 24 -> 24 -> 12 -> 6 -> 3. `width_divisor` divides
    every channel count (at least 1 remains) for quick CPU runs.

    Args:
        depth: a key of `RESNET_SPECS` (18 or 34).
        num_classes: number of output classes.
        input_shape: `(height, width, channels)`; any size works, the notes use 96x96x1.
        width_divisor: integer dividing every convolution's channel count.

    Call arguments:
        inputs: float images `(batch, height, width, channels)`.
        training: whether batch normalization uses batch statistics.

    Returns:
        logits `(batch, num_classes)`.

    Example:

    >>> model = ResNet(depth=18, num_classes=10, input_shape=(32, 32, 1), width_divisor=16)
    >>> model(np.zeros((2, 32, 32, 1), "float32")).shape
    TensorShape([2, 10])
    """

    def __init__(self, depth=18, num_classes=10, input_shape=(96, 96, 1), width_divisor=1,
                 **kwargs):
        model_name = type(self).__name__
        name = kwargs.pop("name", f"resnet{depth}")
        check_choice(model_name, "depth", depth, tuple(sorted(RESNET_SPECS)))
        num_classes = check_int(model_name, "num_classes", num_classes)
        width_divisor = check_int(model_name, "width_divisor", width_divisor)
        layers = resnet_trunk_layers(width_divisor, len(RESNET_SPECS[depth]), depth) + [
            keras.layers.GlobalAveragePooling2D(name="global_pool"),
            keras.layers.Dense(num_classes, name="logits"),
        ]
        arguments = {"depth": depth, "num_classes": num_classes,
                     "width_divisor": width_divisor}
        super().__init__(model_name, input_shape, layers, arguments, name=name, **kwargs)


@keras.saving.register_keras_serializable(package="kerasnotes")
class ResNet18(ResNet):
    """ResNet-18, the notes' model: `ResNet(depth=18, ...)` (see `ResNet`).

    Args:
        num_classes: number of output classes.
        input_shape: `(height, width, channels)`; the notes use 96x96x1.
        width_divisor: integer dividing every convolution's channel count.

    Call arguments:
        inputs: float images `(batch, height, width, channels)`.
        training: whether batch normalization uses batch statistics.

    Returns:
        logits `(batch, num_classes)`.

    Example:

    >>> model = ResNet18(num_classes=10, input_shape=(32, 32, 1), width_divisor=16)
    >>> model(np.zeros((2, 32, 32, 1), "float32")).shape
    TensorShape([2, 10])
    """

    def __init__(self, num_classes=10, input_shape=(96, 96, 1), width_divisor=1, **kwargs):
        super().__init__(depth=18, num_classes=num_classes, input_shape=input_shape,
                         width_divisor=width_divisor, **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["depth"]
        return config
