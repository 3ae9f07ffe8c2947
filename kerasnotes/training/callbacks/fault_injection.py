"""Test-only fault injection: end the process at a chosen phase and global step.

Reliability tests need kills at exact points, not timed ones. With the environment
variable `KERASNOTES_FAIL_AT` set to `PHASE` or `PHASE:GLOBAL_STEP`, the app runner adds a
`FaultInjection` callback (library code never calls it), which ends the process with
`os._exit(FAULT_EXIT_CODE)` (no cleanup, like `kill -9`) the first time training reaches
that point. Phases:

- `after_step`: after the optimizer step that reached GLOBAL_STEP, before its checkpoint;
- `after_checkpoint`: once the checkpoint of GLOBAL_STEP is written, at the next callback
  call (the next execution, the validation or the epoch's end: nothing is saved between);
- `validation`: at the start of the validation of an epoch (GLOBAL_STEP = the step then);
- `epoch_end`: after validation and callbacks, before the epoch-end checkpoint;
- `export`: while the SavedModel is being written (the temporary folder exists): the app
  runner passes `FaultInjection.on_export` to `export_saved_model`.

`KERASNOTES_POISON_AT=GLOBAL_STEP` likewise adds `PoisonWeights` (a deterministic
divergence).

Example:

    KERASNOTES_FAIL_AT=validation:16 python -m apps.classify --epochs 2 ...
"""

import os
import sys

import keras
import numpy as np

FAULT_EXIT_CODE = 97
PHASES = ("after_step", "after_checkpoint", "validation", "epoch_end", "export")


class FaultInjection(keras.callbacks.Callback):
    """Ends the process at the phase and step `KERASNOTES_FAIL_AT` names (see above).

    Give it last among the trainer's callbacks: the trainer runs its own checkpoint,
    progress and preemption callbacks after it.

    Args:
        wanted: `"PHASE"` or `"PHASE:GLOBAL_STEP"`.
        checkpoint_dir: the run's checkpoint folder (for `after_checkpoint`).

    The global step of `validation` and `epoch_end` is the last one the batch hooks saw.

    Example:

    >>> FaultInjection("after_checkpoint:2", "runs/x/checkpoints")
    """

    def __init__(self, wanted, checkpoint_dir=None):
        super().__init__()
        name, _, step = wanted.partition(":")
        if name not in PHASES:
            raise ValueError(f"KERASNOTES_FAIL_AT={wanted!r}: unknown phase {name!r}; "
                             f"expected one of {', '.join(PHASES)}")
        self.wanted, self.phase = wanted, name
        self.step = int(step) if step else None
        self.checkpoint_dir = checkpoint_dir
        self._global_step = None
        self._pending = None  # the step whose checkpoint `after_checkpoint` waits for

    @classmethod
    def from_environment(cls, checkpoint_dir=None):
        """The callback `KERASNOTES_FAIL_AT` asks for, or `None` when it is not set."""
        wanted = os.environ.get("KERASNOTES_FAIL_AT")
        return cls(wanted, checkpoint_dir) if wanted else None

    def on_train_batch_begin(self, batch, logs=None):
        self._global_step = batch
        self._after_checkpoint()

    def on_train_batch_end(self, batch, logs=None):
        self._global_step = batch
        self._after_checkpoint()
        self._fire("after_step", batch)
        if self.phase == "after_checkpoint" and self._at(batch):
            self._pending = batch  # the trainer's checkpoint callback runs after this one

    def on_test_begin(self, logs=None):
        self._after_checkpoint()
        self._fire("validation", self._global_step)

    def on_epoch_end(self, epoch, logs=None):
        self._after_checkpoint()
        self._fire("epoch_end", self._global_step)

    def on_export(self, folder):
        """Called by `export_saved_model` once the SavedModel is in its temporary folder."""
        self._fire("export", None)

    def _after_checkpoint(self):
        if self._pending is not None and self.checkpoint_dir is not None:
            step, self._pending = self._pending, None
            if os.path.exists(os.path.join(self.checkpoint_dir, f"ckpt-{step}.index")):
                self._fire("after_checkpoint", step)

    def _at(self, step):
        return self.step is None or step is None or int(step) == self.step

    def _fire(self, phase, step):
        if phase != self.phase or not self._at(step):
            return
        print(f"KERASNOTES_FAIL_AT={self.wanted}: ending the process here (fault injection)",
              file=sys.stderr, flush=True)
        os._exit(FAULT_EXIT_CODE)


class PoisonWeights(keras.callbacks.Callback):
    """Sets the model's weights to NaN after global step `step` (test-only divergence).

    Example:

    >>> PoisonWeights(6)
    """

    def __init__(self, step):
        super().__init__()
        self.step = int(step)

    @classmethod
    def from_environment(cls):
        """The callback `KERASNOTES_POISON_AT` asks for, or `None` when it is not set."""
        step = os.environ.get("KERASNOTES_POISON_AT")
        return cls(step) if step else None

    def on_train_batch_end(self, batch, logs=None):
        if int(batch) == self.step:
            for weight in self.model.trainable_weights:
                weight.assign(np.full(weight.shape, np.nan, weight.dtype))


def faults_from_environment(checkpoint_dir=None):
    """The test-only callbacks that `KERASNOTES_FAIL_AT` and `KERASNOTES_POISON_AT` ask for
    (the apps add them to every Trainer and export); none when they are not set."""
    faults = [PoisonWeights.from_environment(), FaultInjection.from_environment(checkpoint_dir)]
    return [callback for callback in faults if callback is not None]
