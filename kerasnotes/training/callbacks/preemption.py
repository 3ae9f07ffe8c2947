"""Save and stop on SIGTERM (preemption) at the next step boundary."""

import keras

from kerasnotes.training.preemption import PreemptionWatch


class SaveOnPreemption(keras.callbacks.Callback):
    """On SIGTERM during `fit`, saves the current step's checkpoint and raises `Preempted`.

    Under multi-worker training a SIGTERM to any worker stops every worker at the same
    step (see `kerasnotes.training.preemption.PreemptionWatch`). The trainer puts it last,
    so the position it saves is complete: the step's (or the epoch's) callbacks and
    checkpoint are done. `close()` puts the previous SIGTERM handler back; the trainer
    calls it when `fit` ends, also when it fails.

    Args:
        strategy: the training strategy.
        checkpoint: the run's `RunCheckpoint`.
        global_step: the trainer's global step variable.
        save: `() -> path`, writes the checkpoint of the current position.
        where: `() -> str`, the current position, for the message.

    Example:

    >>> SaveOnPreemption(strategy, trainer.checkpoint, trainer.global_step,
    ...                  trainer.save_checkpoint, trainer.position)
    """

    def __init__(self, strategy, checkpoint, global_step, save, where):
        super().__init__()
        self.strategy, self.checkpoint, self.global_step = strategy, checkpoint, global_step
        self.save, self.where = save, where
        self._watch = None

    def on_train_begin(self, logs=None):
        self.close()
        self._watch = PreemptionWatch(self.strategy, self.checkpoint, self.global_step,
                                      save=self.save, where=self.where)
        self._watch.__enter__()

    def on_train_batch_end(self, batch, logs=None):
        self._watch.check()

    def on_epoch_end(self, epoch, logs=None):
        self._watch.check()

    def on_train_end(self, logs=None):
        self.close()

    def close(self):
        if self._watch is not None:
            self._watch.__exit__(None, None, None)
            self._watch = None
