"""Stop training as soon as the loss or a validation result is NaN or infinite."""

import math

import keras

from kerasnotes.training.checkpoints import NonFiniteLossError


class StopOnNonFinite(keras.callbacks.Callback):
    """Raises `NonFiniteLossError` at the first non-finite training loss or `val_` result.

    Like `keras.callbacks.TerminateOnNaN`, but it raises (the apps exit with code 3) and
    names where it happened and the last good checkpoint to resume from. The trainer puts
    it first, so it runs before any other callback and before anything is saved; the
    weights themselves are checked by `RunCheckpoint.save` before every checkpoint.

    Args:
        where: `() -> str`, the current position, e.g. "epoch 1, step 3 (global step 3)".
        latest_checkpoint: `() -> str or None`, the newest checkpoint.

    Example:

    >>> guard = StopOnNonFinite(trainer.position, lambda: trainer.checkpoint.latest)
    """

    def __init__(self, where, latest_checkpoint):
        super().__init__()
        self.where = where
        self.latest_checkpoint = latest_checkpoint

    def on_train_batch_end(self, batch, logs=None):
        loss = logs["loss"]
        if not math.isfinite(loss):
            raise NonFiniteLossError(f"the training loss became {loss} at {self.where()}; "
                                     f"{self._advice()}")

    def on_epoch_end(self, epoch, logs=None):
        bad = {name[4:]: value for name, value in logs.items()
               if name.startswith("val_") and not math.isfinite(value)}
        if bad:
            shown = ", ".join(f"{name} = {value}" for name, value in bad.items())
            raise NonFiniteLossError(f"{shown} at validation after epoch {epoch + 1}; "
                                     f"{self._advice()}")

    def _advice(self):
        return (f"nothing was saved. The last good checkpoint is "
                f"{self.latest_checkpoint() or 'none (no checkpoint yet)'}. Lower the learning "
                "rate or clip gradients, then rerun (the run resumes from it).")
