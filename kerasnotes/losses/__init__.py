"""Losses from the notes: a per-sample function and a `keras.losses.Loss` for each."""

from kerasnotes.losses.masked_binary_cross_entropy import (
    MaskedBinaryCrossEntropy,
    masked_binary_cross_entropy,
)
from kerasnotes.losses.softmax_cross_entropy import SoftmaxCrossEntropy, softmax_cross_entropy
from kerasnotes.losses.squared_loss import SquaredLoss, squared_loss
