"""VGG, the network of repeated VGG blocks."""


import keras

from kerasnotes._checks import check_int, check_number, invalid
from kerasnotes.layers.vgg_block import VGGBlock
from kerasnotes.models.image_input import ImageModel, width_function

VGG11_ARCH = ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512))


def _conv_arch(conv_arch):
    try:
        pairs = [tuple(pair) for pair in conv_arch]
    except TypeError:
        pairs = None
    if not pairs or any(len(pair) != 2 for pair in pairs):
        raise invalid("VGG", "conv_arch", conv_arch,
                      "a non-empty sequence of (num_convs, filters) pairs")
    return tuple(
        (check_int("VGG", "conv_arch num_convs", n), check_int("VGG", "conv_arch filters", c))
        for n, c in pairs
    )


@keras.saving.register_keras_serializable(package="kerasnotes")
class VGG(ImageModel):
    """VGG: a stack of VGG blocks, then AlexNet's three dense layers.

    The notes' VGG network: one `VGGBlock(num_convs, filters)` per `(num_convs, filters)`
    pair of `conv_arch` (each: `num_convs` 3x3 ReLU convolutions with padding 1, then 2x2
    max pooling with stride 2), then flatten -> dense 4096 (ReLU) -> dropout 0.5 -> dense
    4096 (ReLU) -> dropout 0.5 -> dense `num_classes`. `VGG11_ARCH`,
    `((1, 64), (1, 128), (2, 256), (2, 512), (2, 512))`, has 8 convolutions + 3 dense
    layers: VGG-11. `width_divisor` divides every channel count and hidden dense width (at
    least 1 remains) for quick CPU runs; `width_divisor=1` is the notes' network.

    Args:
        conv_arch: `(num_convs, filters)` per block.
        num_classes: number of output classes.
        input_shape: `(height, width, channels)`; each block halves the size, so at least
            `2 ** len(conv_arch)` (32 for VGG-11); the notes use 224x224x1.
        width_divisor: integer dividing the channel counts and the hidden dense widths.
        dropout: drop probability after each hidden dense layer, in `[0, 1)`.

    Call arguments:
        inputs: float images `(batch, height, width, channels)`.
        training: whether dropout is active.

    Returns:
        logits `(batch, num_classes)`.

    Example:

    >>> model = VGG(num_classes=10, input_shape=(32, 32, 3), width_divisor=16)
    >>> model(np.zeros((2, 32, 32, 3), "float32")).shape
    TensorShape([2, 10])
    """

    def __init__(self, conv_arch=VGG11_ARCH, num_classes=10, input_shape=(224, 224, 1),
                 width_divisor=1, dropout=0.5, **kwargs):
        name = kwargs.pop("name", "vgg")
        conv_arch = _conv_arch(conv_arch)
        num_classes = check_int("VGG", "num_classes", num_classes)
        width_divisor = check_int("VGG", "width_divisor", width_divisor)
        dropout = check_number("VGG", "dropout", dropout, minimum=0, exclusive_maximum=1)
        width = width_function(width_divisor)

        layers = [
            VGGBlock(num_convs, width(filters), name=f"block{i + 1}")
            for i, (num_convs, filters) in enumerate(conv_arch)
        ]
        layers += [
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(width(4096), activation="relu", name="dense1"),
            keras.layers.Dropout(dropout, name="dropout1"),
            keras.layers.Dense(width(4096), activation="relu", name="dense2"),
            keras.layers.Dropout(dropout, name="dropout2"),
            keras.layers.Dense(num_classes, name="logits"),
        ]
        arguments = {"conv_arch": conv_arch, "num_classes": num_classes,
                     "width_divisor": width_divisor, "dropout": dropout}
        super().__init__("VGG", input_shape, layers, arguments, name=name, **kwargs)
