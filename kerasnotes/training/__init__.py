"""Training: one distributed loop (`Trainer`), its callbacks, checkpoints and summaries."""

from kerasnotes.training.strategy import choose_strategy, is_chief
from kerasnotes.training.trainer import NonFiniteLossError, Trainer

__all__ = [
    "NonFiniteLossError",
    "Trainer",
    "choose_strategy",
    "is_chief",
]
