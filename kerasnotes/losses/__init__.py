"""Losses from the notes: a per-sample function and a `keras.losses.Loss` for each."""

from kerasnotes.losses.hierarchical_softmax_loss import HierarchicalSoftmaxLoss
from kerasnotes.losses.masked_binary_cross_entropy import (
    MaskedBinaryCrossEntropy,
    masked_binary_cross_entropy,
)
from kerasnotes.losses.pixel_cross_entropy import (
    PixelSoftmaxCrossEntropy,
    pixel_softmax_cross_entropy,
)
from kerasnotes.losses.softmax_cross_entropy import SoftmaxCrossEntropy, softmax_cross_entropy
from kerasnotes.losses.squared_loss import SquaredLoss, squared_loss
from kerasnotes.losses.ssd_loss import SSDLoss, ssd_loss
from kerasnotes.losses.style_transfer_losses import (
    content_loss,
    gram_matrix,
    style_loss,
    total_variation_loss,
)
