"""FCN: the fully convolutional network for semantic segmentation."""

import keras

from kerasnotes._checks import check_int
from kerasnotes.layers.bilinear_initializer import BilinearInitializer
from kerasnotes.models.resnet import resnet_trunk_layers

BACKBONE_DEPTH = 18


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
        num_classes = check_int(model_name, "num_classes", num_classes)
        input_channels = check_int(model_name, "input_channels", input_channels)
        width_divisor = check_int(model_name, "width_divisor", width_divisor)
        backbone_groups = check_int(model_name, "backbone_groups", backbone_groups, maximum=4)
        stride = 4 * 2 ** (backbone_groups - 1)
        inputs = keras.Input(shape=(None, None, int(input_channels)), name="images")
        x = inputs
        for layer in resnet_trunk_layers(width_divisor, backbone_groups, BACKBONE_DEPTH):
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
