"""Training: one distributed loop (`Trainer`), strategy choice and SavedModel export."""

from kerasnotes.training.classifier_export import ImageClassifierServer
from kerasnotes.training.export import export_saved_model
from kerasnotes.training.strategy import choose_strategy, is_chief
from kerasnotes.training.trainer import NonFiniteLossError, Trainer

__all__ = [
    "ImageClassifierServer",
    "NonFiniteLossError",
    "Trainer",
    "choose_strategy",
    "export_saved_model",
    "is_chief",
]
