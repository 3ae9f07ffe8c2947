"""FCN: the fully convolutional network for semantic segmentation."""

import numbers

import keras

from kerasnotes.layers.bilinear_initializer import BilinearInitializer
from kerasnotes.layers.residual import Residual
from kerasnotes.models.resnet import RESNET_SPECS

BACKBONE_DEPTH = 18


def resnet_trunk_layers(width_divisor=1, groups=4, depth=BACKBONE_DEPTH):
    """The layers of ResNet's feature extractor: stem and the first `groups` residual groups.

    The same layers, with the same names, as `kerasnotes.models.resnet.ResNet` up to
    `group{groups}_block{last}`, without its global pooling and dense head, so weights move
    between the two by layer name (`FCN.load_backbone_weights`). The stride is
    `4 * 2 ** (groups - 1)`: 32 for all four groups.
    """

    def width(channels):
        return max(1, channels // width_divisor)

    specs = RESNET_SPECS[depth]
    layers = [
        keras.layers.ZeroPadding2D(3, name="stem_pad"),
        keras.layers.Conv2D(width(specs[0][0]), 7, strides=2, name="stem_conv"),
        keras.layers.BatchNormalization(name="stem_bn"),
        keras.layers.ReLU(name="stem_relu"),
        keras.layers.ZeroPadding2D(1, name="stem_pool_pad"),
        keras.layers.MaxPooling2D(pool_size=3, strides=2, name="stem_pool"),
    ]
    for group, (channels, blocks) in enumerate(specs[:groups], start=1):
        for block in range(blocks):
            downsample = group > 1 and block == 0
            layers.append(Residual(width(channels), use_1x1conv=downsample,
                                   strides=2 if downsample else 1,
                                   name=f"group{group}_block{block + 1}"))
    return layers


@keras.saving.register_keras_serializable(package="kerasnotes")
class FCN(keras.Model):
    """Fully convolutional network (FCN) on a ResNet-18 feature extractor.

    The notes' FCN:

    1. ResNet-18 without its global average pooling and dense layer extracts features,
       `(N, H / s, W / s, c)` with stride `s = 32` (or 16, 8, 4 with fewer groups);
    2. a 1x1 convolution turns the channels into `num_classes` scores;
    3. a transposed convolution with kernel `2s`, stride `s` and padding `s / 2` (d2l:
       64, 32, 16; Keras `padding="same"`) brings the scores back to `(N, H, W,
       num_classes)`; it is initialized to bilinear interpolation (`BilinearInitializer`)
       and trained.

    Training minimizes the per-pixel softmax cross-entropy; the prediction is the argmax
    over the class axis per pixel (then `label_to_colormap` for an RGB image). The input
    may have any size; the output has size `ceil(H / s) * s` x `ceil(W / s) * s` (equal
    to the input when the sides are multiples of `s`; pad and crop otherwise, as the
    serving export does).

    The trunk has the same layer names as `ResNet` (`stem_conv`, ..., `group4_block2`), so
    `load_backbone_weights(resnet)` copies a trained `ResNet18`'s feature extractor (the
    notes use a pretrained one; no pretrained weights can be downloaded here).

    Args:
        num_classes: classes including background (21 for VOC).
        input_channels: image channels (3).
        width_divisor: integer dividing every ResNet channel count (quick CPU runs).
        backbone_groups: how many residual groups of ResNet-18 to keep (4: stride 32).

    Call arguments:
        inputs: float images `(N, H, W, input_channels)`.
        training: whether batch normalization uses batch statistics.

    Returns:
        per-pixel class logits `(N, H', W', num_classes)`.

    Example:

    >>> model = FCN(num_classes=21, width_divisor=16)
    >>> model(np.zeros((1, 64, 96, 3), "float32")).shape
    TensorShape([1, 64, 96, 21])
    """

    def __init__(self, num_classes=21, input_channels=3, width_divisor=1, backbone_groups=4,
                 **kwargs):
        model_name = type(self).__name__
        name = kwargs.pop("name", "fcn")
        for arg, value, low, high in (("num_classes", num_classes, 1, None),
                                      ("input_channels", input_channels, 1, None),
                                      ("width_divisor", width_divisor, 1, None),
                                      ("backbone_groups", backbone_groups, 1, 4)):
            if (isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low
                    or (high is not None and value > high)):
                limits = f"in [{low}, {high}]" if high else f">= {low}"
                raise ValueError(f"{model_name}: {arg} must be an integer {limits}; received "
                                 f"{arg}={value!r}")
        stride = 4 * 2 ** (backbone_groups - 1)
        inputs = keras.Input(shape=(None, None, int(input_channels)), name="images")
        x = inputs
        for layer in resnet_trunk_layers(width_divisor, backbone_groups):
            x = layer(x)
        x = keras.layers.Conv2D(num_classes, 1, name="score")(x)
        outputs = keras.layers.Conv2DTranspose(
            num_classes, 2 * stride, strides=stride, padding="same",
            kernel_initializer=BilinearInitializer(), name="upsample")(x)
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)
        self.num_classes = int(num_classes)
        self.input_channels = int(input_channels)
        self.width_divisor = int(width_divisor)
        self.backbone_groups = int(backbone_groups)
        self.stride = stride

    def load_backbone_weights(self, resnet):
        """Copies the feature extractor's weights from a `ResNet` (same width, channels).

        Returns the names of the layers copied.
        """
        copied = []
        for layer in self.layers:
            if layer.name.startswith(("stem_", "group")) and layer.weights:
                try:
                    source = resnet.get_layer(layer.name)
                except ValueError:
                    raise ValueError(f"FCN.load_backbone_weights: the ResNet has no layer "
                                     f"{layer.name!r}") from None
                source_shapes = [tuple(w.shape) for w in source.weights]
                target_shapes = [tuple(w.shape) for w in layer.weights]
                if source_shapes != target_shapes:
                    raise ValueError(
                        f"FCN.load_backbone_weights: layer {layer.name!r} has weights "
                        f"{target_shapes} but the ResNet's have {source_shapes} (same "
                        "width_divisor and input channels needed)")
                layer.set_weights(source.get_weights())
                copied.append(layer.name)
        return copied

    def get_config(self):
        return {
            "name": self.name,
            "num_classes": self.num_classes,
            "input_channels": self.input_channels,
            "width_divisor": self.width_divisor,
            "backbone_groups": self.backbone_groups,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
