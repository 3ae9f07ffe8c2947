"""DenseNet, the densely connected network."""


import keras

from kerasnotes._checks import check_int, check_ints
from kerasnotes.layers.dense_block import DenseBlock
from kerasnotes.layers.transition_block import TransitionBlock
from kerasnotes.models.image_input import ImageModel
from kerasnotes.models.resnet import stem_layers


@keras.saving.register_keras_serializable(package="kerasnotes")
class DenseNet(ImageModel):
    """DenseNet: ResNet's stem, dense blocks separated by transition layers, BN-ReLU head.

    The notes' structure (with d2l's sizes):

        stem: conv 64, 7x7, stride 2, padding 3 -> BN -> ReLU -> maxpool 3x3, stride 2,
              padding 1
        for each n in num_convs_in_dense_blocks (4, 4, 4, 4):
            DenseBlock(n, growth_rate)              channels c -> c + n * growth_rate
            TransitionBlock(channels // 2)          (not after the last block) halves the
                                                    channels and the size
        BN -> ReLU -> global average pooling -> dense num_classes

    With the defaults the channels are 64 -> 192 -> 96 -> 224 -> 112 -> 240 -> 120 -> 248
    and a 96x96 input is 24x24 after the stem, then 12, 6 and 3. The stride-2 stem layers
    pad symmetrically as in the notes (`ZeroPadding2D`; zeros are neutral for the max
    pooling since its input is a ReLU output). `width_divisor` divides the stem channels and
    the growth rate (at least 1 remains) for quick CPU runs.

    Args:
        num_classes: number of output classes.
        input_shape: `(height, width, channels)`; each transition halves the size (rounding
            down), so at least 29x29 with three transitions; the notes use 96x96x1.
        num_convs_in_dense_blocks: number of convolutions in each dense block.
        growth_rate: channels added by each convolution of a dense block.
        width_divisor: integer dividing the stem channels and the growth rate.

    Call arguments:
        inputs: float images `(batch, height, width, channels)`.
        training: whether batch normalization uses batch statistics.

    Returns:
        logits `(batch, num_classes)`.

    Example:

    >>> model = DenseNet(num_classes=10, input_shape=(32, 32, 1), width_divisor=8)
    >>> model(np.zeros((2, 32, 32, 1), "float32")).shape
    TensorShape([2, 10])
    """

    def __init__(self, num_classes=10, input_shape=(96, 96, 1),
                 num_convs_in_dense_blocks=(4, 4, 4, 4), growth_rate=32, width_divisor=1,
                 **kwargs):
        name = kwargs.pop("name", "densenet")
        num_classes = check_int("DenseNet", "num_classes", num_classes)
        width_divisor = check_int("DenseNet", "width_divisor", width_divisor)
        growth_rate = check_int("DenseNet", "growth_rate", growth_rate)
        num_convs_in_dense_blocks = check_ints("DenseNet", "num_convs_in_dense_blocks",
                                               num_convs_in_dense_blocks)

        channels = max(1, 64 // width_divisor)
        block_growth = max(1, growth_rate // width_divisor)
        layers = stem_layers(channels)
        for i, num_convs in enumerate(num_convs_in_dense_blocks):
            layers.append(DenseBlock(num_convs, block_growth, name=f"dense_block{i + 1}"))
            channels += num_convs * block_growth
            if i != len(num_convs_in_dense_blocks) - 1:
                channels = max(1, channels // 2)
                layers.append(TransitionBlock(channels, name=f"transition{i + 1}"))
        layers += [
            keras.layers.BatchNormalization(name="final_bn"),
            keras.layers.ReLU(name="final_relu"),
            keras.layers.GlobalAveragePooling2D(name="global_pool"),
            keras.layers.Dense(num_classes, name="logits"),
        ]
        arguments = {"num_classes": num_classes,
                     "num_convs_in_dense_blocks": num_convs_in_dense_blocks,
                     "growth_rate": growth_rate, "width_divisor": width_divisor}
        super().__init__("DenseNet", input_shape, layers, arguments, name=name, **kwargs)
