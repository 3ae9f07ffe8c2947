"""VGG-19 feature extraction for style transfer, with the notes' pre- and postprocessing.

The notes: preprocessing standardizes each RGB channel (ImageNet mean and std),
postprocessing maps the standardized values back to pixels; VGG-19 extracts the features;
the style layers are the first convolution of every VGG block, the content layer is the
last convolution of the fourth block.
"""

import os

import keras
import numpy as np
from keras import ops

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Names of the layers of `keras.applications.VGG19`.
VGG19_STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1",
                      "block5_conv1")
VGG19_CONTENT_LAYERS = ("block4_conv4",)
# keras.applications' ImageNet VGG weights expect "caffe" inputs: BGR pixels in [0, 255]
# minus these means.
_CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)
# The smallest side VGG-19 takes up to block5_conv1: four 2x2 poolings before it.
VGG19_MIN_SIZE = 16


def preprocess_image(images):
    """Standardizes each RGB channel: `(x - mean) / std` (ImageNet mean and std).

    Args:
        images: float RGB images in `[0, 1]`, `(..., 3)`.

    Returns:
        standardized images, same shape.
    """
    images = ops.convert_to_tensor(images, "float32")
    return (images - np.array(IMAGENET_MEAN, "float32")) / np.array(IMAGENET_STD, "float32")


def postprocess_image(images):
    """The inverse of `preprocess_image`, clipped to pixels: `clip(z * std + mean, 0, 1)`."""
    images = ops.convert_to_tensor(images, "float32")
    pixels = images * np.array(IMAGENET_STD, "float32") + np.array(IMAGENET_MEAN, "float32")
    return ops.clip(pixels, 0.0, 1.0)


@keras.saving.register_keras_serializable(package="kerasnotes")
class StandardizedToCaffe(keras.layers.Layer):
    """Maps notes-standardized RGB images to the BGR, mean-subtracted [0, 255] inputs that
    `keras.applications.VGG19` ImageNet weights were trained on.

        x = z * std + mean   (RGB in [0, 1]),   caffe = 255 * x[..., ::-1] - bgr_mean

    A fixed per-channel affine map, so the notes' preprocessing can feed the Keras weights.

    Call arguments:
        inputs: standardized RGB images `(batch, h, w, 3)`.

    Returns:
        caffe-style BGR images, same shape.

    Example:

    >>> StandardizedToCaffe()(preprocess_image(np.zeros((1, 2, 2, 3)))).shape
    TensorShape([1, 2, 2, 3])
    """

    def call(self, inputs):
        pixels = inputs * np.array(IMAGENET_STD, "float32") + np.array(IMAGENET_MEAN,
                                                                        "float32")
        return 255.0 * ops.flip(pixels, axis=-1) - np.array(_CAFFE_BGR_MEAN, "float32")


def load_vgg19(weights=None):
    """`keras.applications.VGG19` without its classifier, with `weights`.

    Args:
        weights: `None` (random initialization), `"imagenet"` (downloads the Keras weights;
            raises `OSError` with a clear message when they cannot be reached) or a path
            to an `.h5`/`.weights.h5` file of VGG-19 (no top) weights, or a `.keras`
            VGG-19 model.

    Returns:
        the `keras.Model`.
    """
    if weights is None:
        return keras.applications.VGG19(include_top=False, weights=None,
                                        input_shape=(None, None, 3))
    if weights == "imagenet":
        try:
            return keras.applications.VGG19(include_top=False, weights="imagenet",
                                            input_shape=(None, None, 3))
        except Exception as error:  # urllib/HTTP/socket errors all mean "not reachable"
            raise OSError(
                "the ImageNet VGG-19 weights cannot be downloaded here "
                f"({type(error).__name__}: {str(error).splitlines()[0][:200]}); pass "
                "`weights` PATH to a local vgg19 .h5 weights file"
            ) from None
    path = os.path.expanduser(str(weights))
    if not os.path.isfile(path):
        raise FileNotFoundError(f"VGG-19 weights file not found: {path}")
    if path.endswith(".keras"):
        try:
            return keras.saving.load_model(path, compile=False)
        except Exception as error:  # zipfile/JSON/Keras errors: not a model file we can read
            raise ValueError(f"cannot load a VGG-19 Keras model from {path}: "
                             f"{str(error).splitlines()[0][:300]}") from None
    model = keras.applications.VGG19(include_top=False, weights=None,
                                     input_shape=(None, None, 3))
    try:
        model.load_weights(path, skip_mismatch=False)
    except Exception as error:
        raise ValueError(f"cannot load VGG-19 (no top) weights from {path}: "
                         f"{str(error).splitlines()[0][:300]}") from None
    return model


def vgg19_feature_extractor(vgg=None, style_layers=VGG19_STYLE_LAYERS,
                            content_layers=VGG19_CONTENT_LAYERS):
    """A model: standardized RGB images -> `{"style": [...], "content": [...]}` features.

    Only the VGG-19 layers up to the deepest requested one are kept (the notes' layers end
    at block5_conv1, so the rest of block 5 never runs). The input first goes through
    `StandardizedToCaffe`, the input convention of the Keras VGG weights.

    Args:
        vgg: a `keras.applications.VGG19(include_top=False)` model (default: random weights,
            `load_vgg19(None)`).
        style_layers: names of the style layers (default: first conv of each block).
        content_layers: names of the content layers (default: block4_conv4).

    Returns:
        a `keras.Model` taking `(batch, h, w, 3)` standardized images (h, w >=
        `VGG19_MIN_SIZE`) and returning a dict of two lists of feature maps.

    Example:

    >>> extractor = vgg19_feature_extractor()
    >>> features = extractor(np.zeros((1, 32, 48, 3), "float32"))
    >>> [f.shape[-1] for f in features["style"]], features["content"][0].shape
    ([64, 128, 256, 512, 512], TensorShape([1, 4, 6, 512]))
    """
    vgg = load_vgg19(None) if vgg is None else vgg
    names = [layer.name for layer in vgg.layers]
    for name in (*style_layers, *content_layers):
        if name not in names:
            raise ValueError(f"vgg19_feature_extractor: no layer named {name!r} in "
                             f"{vgg.name}; layers: {', '.join(names[1:])}")
    inputs = keras.Input(shape=(None, None, 3), name="standardized_images")
    x = StandardizedToCaffe(name="to_caffe")(inputs)
    wanted = set(style_layers) | set(content_layers)
    outputs = {}
    for layer in vgg.layers[1:]:
        x = layer(x)
        outputs[layer.name] = x
        wanted.discard(layer.name)
        if not wanted:
            break
    return keras.Model(
        inputs,
        {"style": [outputs[n] for n in style_layers],
         "content": [outputs[n] for n in content_layers]},
        name="vgg19_features",
    )
