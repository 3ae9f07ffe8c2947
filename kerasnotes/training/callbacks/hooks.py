"""The Trainer's older hook arguments as a callback."""

import keras

from kerasnotes.training.strategy import is_chief


class EpochHooks(keras.callbacks.Callback):
    """`epoch_begin_hook(model, epoch)` and `summary_hook(model, epoch)` (chief only) of
    `Trainer(...)`, kept for compatibility: write a `keras.callbacks.Callback` instead.

    Example:

    >>> EpochHooks(summary_hook=lambda model, epoch: None, strategy=strategy)
    """

    def __init__(self, summary_hook=None, epoch_begin_hook=None, strategy=None):
        super().__init__()
        self.summary_hook, self.epoch_begin_hook, self.strategy = (
            summary_hook, epoch_begin_hook, strategy)

    def on_epoch_begin(self, epoch, logs=None):
        if self.epoch_begin_hook is not None:
            self.epoch_begin_hook(self.model, epoch)

    def on_epoch_end(self, epoch, logs=None):
        if self.summary_hook is not None and is_chief(self.strategy):
            self.summary_hook(self.model, epoch)
