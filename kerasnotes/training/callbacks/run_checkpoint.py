"""Checkpoints of a run, written during `Trainer.fit` (resumed by `Trainer.restore`)."""

import keras


class CheckpointRun(keras.callbacks.Callback):
    """Saves the run's checkpoint every `every_n_steps` global steps and after every epoch.

    The Keras counterpart is `keras.callbacks.BackupAndRestore`; here the checkpoint is a
    `RunCheckpoint` (kerasnotes/training/checkpoints.py) of the model, the optimizer, the
    metric states and the run's position (epoch, step in epoch, global step), with its
    integrity rules: written only from finite weights, flushed before it is recorded,
    damaged ones kept aside on restore, one line naming a full disk. The trainer puts it
    after the callbacks given to it: what they do at a step or an epoch's end (e.g. add
    logs, or change the weights) comes before the save. At an epoch's end the position
    saved is the next epoch's start, so a rerun resumes there.

    Args:
        save: `() -> path`, writes the checkpoint of the current position
            (`Trainer.save_checkpoint`; a no-op without a run folder).
        position: the trainer's `(epoch, step_in_epoch)` variables.
        every_n_steps: also save inside an epoch every this many global steps (`None`:
            after every epoch only).

    Example:

    >>> saver = CheckpointRun(trainer.save_checkpoint,
    ...                       (trainer.epoch, trainer.step_in_epoch), every_n_steps=100)
    """

    def __init__(self, save, position, every_n_steps=None):
        super().__init__()
        self.save = save
        self.epoch, self.step_in_epoch = position
        self.every_n_steps = every_n_steps

    def on_train_batch_end(self, batch, logs=None):
        if self.every_n_steps is not None and batch % self.every_n_steps == 0:
            self.save()

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.assign(epoch + 1)
        self.step_in_epoch.assign(0)
        self.save()
