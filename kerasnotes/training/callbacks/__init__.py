"""The callbacks `Trainer.fit` runs, one concept each (and the test-only fault injection).

Every fit runs these Keras callbacks (`fit_callbacks`), in this order around the
callbacks given to the `Trainer`:

- `StopOnNonFinite`: stops with `NonFiniteLossError` as soon as the loss or a validation
  result is NaN or infinite (the weights are checked before every checkpoint, so no
  checkpoint ever holds non-finite weights);
- the callbacks given;
- `TensorBoardScalars` (`run_dir/train`, `run_dir/validation`): step loss, learning rate
  and examples/s every `log_every_n_steps` steps, and every entry of the epoch's logs;
- `CheckpointRun`: model, optimizer, metric states, epoch and step in
  `run_dir/checkpoints` (a `RunCheckpoint`), which `fit` resumes from when the same run
  starts again, mid-epoch included (from the newest intact one: a damaged checkpoint is
  kept aside);
- `Profiler` (with `profile_steps`), `ProgressDisplay` (with `verbose`: a live bar on a
  terminal, one plain line per epoch in a log);
- `SaveOnPreemption`: SIGTERM to the process (or, under multi-worker training, to any
  worker) saves a checkpoint at a step boundary (the same step on every worker) and
  raises `Preempted`; running `fit` again resumes there. A lost worker raises
  `WorkerLostError` naming it (see `kerasnotes.training.preemption`).

Only the chief writes summaries and checkpoints.

The callbacks given are called on every worker: `on_train_begin`, `on_epoch_begin(epoch)`
(before the epoch's data is built, e.g. to reset a stateful model),
`on_train_batch_begin(global_step)` before and `on_train_batch_end(global_step, logs)` after
every execution (`logs["loss"]`: the mean loss of its steps), `on_test_begin` and
`on_test_end` around validation, `on_epoch_end(epoch, logs)` after it, with the validation
summary writer as default writer (write `tf.summary.image(..., step=epoch)` there), and
`on_train_end`. A callback may add entries to `logs` in `on_epoch_end` (e.g.
`logs["val_mAP@0.5"] = ...`): they go to the history, the epoch line and TensorBoard
(`val_` names as `epoch_<name>` of the validation run, others of the train run).

Fault injection (`FaultInjection`, `PoisonWeights`) is test-only: the app runner adds it
when `KERASNOTES_FAIL_AT` or `KERASNOTES_POISON_AT` is set; library code never calls it.

Example:

>>> trainer = Trainer(model, loss, optimizer, run_dir="runs/x", callbacks=[MyCallback()])
>>> [type(c).__name__ for c in trainer.callbacks.callbacks]
['StopOnNonFinite', 'MyCallback', 'TensorBoardScalars', 'CheckpointRun', 'ProgressDisplay',
 'SaveOnPreemption']
"""

import os

import keras

from kerasnotes.training.callbacks.fault_injection import FaultInjection, PoisonWeights
from kerasnotes.training.callbacks.non_finite import StopOnNonFinite
from kerasnotes.training.callbacks.preemption import SaveOnPreemption
from kerasnotes.training.callbacks.profiler import Profiler
from kerasnotes.training.callbacks.progress import ProgressDisplay
from kerasnotes.training.callbacks.run_checkpoint import CheckpointRun
from kerasnotes.training.callbacks.tensorboard_scalars import TensorBoardScalars
from kerasnotes.training.strategy import is_chief

__all__ = ["CheckpointRun", "FaultInjection", "PoisonWeights", "ProgressDisplay", "Profiler",
           "SaveOnPreemption", "StopOnNonFinite", "TensorBoardScalars", "fit_callbacks"]


def fit_callbacks(trainer, callbacks, log_every_n_steps):
    """The `keras.callbacks.CallbackList` of `trainer`'s fits: the callbacks of the module
    docstring, in its order, around `callbacks`.

    Example:

    >>> trainer.callbacks = fit_callbacks(trainer, [MyCallback()], log_every_n_steps=50)
    """
    run_dir, strategy, verbose = trainer.run_dir, trainer.strategy, trainer.verbose
    profile = trainer.profile_steps and run_dir is not None and is_chief(strategy)
    return keras.callbacks.CallbackList([
        StopOnNonFinite(trainer.position, lambda: trainer.checkpoint.latest),
        *callbacks,
        TensorBoardScalars(run_dir, strategy, trainer.optimizer or trainer.model,
                           lambda: trainer.examples_seen, log_every_n_steps),
        CheckpointRun(trainer.save_checkpoint, (trainer.epoch, trainer.step_in_epoch),
                      trainer.checkpoint_every_n_steps),
        *([Profiler(os.path.join(run_dir, "train"), trainer.profile_steps, verbose)]
          if profile else []),
        ProgressDisplay(verbose, lambda: int(trainer.step_in_epoch.numpy())),
        SaveOnPreemption(strategy, trainer.checkpoint, trainer.global_step,
                         trainer.save_checkpoint, trainer.position),
    ], model=trainer.model)
