"""The TensorBoard scalars of a run: step loss, learning rate, speed, epoch metrics."""

import time

import keras
import numpy as np

from kerasnotes.training.summaries import SummaryWriters


class TensorBoardScalars(keras.callbacks.Callback):
    """Writes a run's scalars to `run_dir/train` and `run_dir/validation` (chief only).

    Every `log_every_n_steps` global steps, to `train` at `step=global_step`: `batch_loss`,
    `learning_rate` and `examples_per_second` since the last write. After every epoch,
    at `step=epoch`: each entry of the epoch's logs as `epoch_<name>`, `val_` ones to
    `validation` (without the prefix, so the two runs' curves overlay), the others to
    `train`, with `epoch_learning_rate` and `epoch_examples_per_second`. The trainer puts
    it after the callbacks given to it, so the logs those add are written too. Callbacks
    write their own summaries (e.g. images) under `writers["validation"].as_default()`.

    Args:
        run_dir: the run folder (`None`: nothing is written).
        strategy: the training strategy; only its chief writes.
        optimizer: whose learning rate is written (or a model that trains itself, whose
            `learning_rate`, if it has one, is).
        examples_seen: `() -> float`, how many examples were trained on so far.
        log_every_n_steps: how often to write the step scalars.

    Example:

    >>> scalars = TensorBoardScalars("runs/lenet", strategy, optimizer,
    ...                              lambda: trainer.examples_seen, log_every_n_steps=50)
    """

    def __init__(self, run_dir, strategy, optimizer, examples_seen, log_every_n_steps=50):
        super().__init__()
        self.run_dir, self.strategy, self.optimizer = run_dir, strategy, optimizer
        self.examples_seen = examples_seen
        self.log_every_n_steps = log_every_n_steps
        self._writers = None
        self._last_step = None  # global step of the previous batch end
        self._interval = self._epoch = None  # (time, examples) at their start

    @property
    def writers(self):
        """The run's `SummaryWriters` (made on first use)."""
        if self._writers is None:
            self._writers = SummaryWriters(self.run_dir, self.strategy)
        return self._writers

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = self._interval = None

    def on_train_batch_begin(self, batch, logs=None):
        if self._epoch is None:  # the first execution of the epoch: its data is ready
            self._epoch = self._interval = (time.perf_counter(), self.examples_seen())
            self._last_step = batch

    def on_train_batch_end(self, batch, logs=None):
        every = self.log_every_n_steps
        if batch // every > self._last_step // every:
            now, examples = time.perf_counter(), self.examples_seen()
            self.writers.scalars("train", _known({
                "batch_loss": logs["loss"],
                "learning_rate": learning_rate(self.optimizer),
                "examples_per_second": _rate(self._interval, now, examples),
            }), step=batch)
            self._interval = (now, examples)
        self._last_step = batch

    def on_epoch_end(self, epoch, logs=None):
        writers = self.writers
        writers.scalars("train", {k: v for k, v in logs.items() if not k.startswith("val_")},
                        step=epoch, prefix="epoch_")
        writers.scalars("validation", {k[4:]: v for k, v in logs.items()
                                       if k.startswith("val_")}, step=epoch, prefix="epoch_")
        speed = {} if self._epoch is None else {"examples_per_second": _rate(
            self._epoch, time.perf_counter(), self.examples_seen())}
        writers.scalars("train", _known({"learning_rate": learning_rate(self.optimizer),
                                         **speed}), step=epoch, prefix="epoch_")
        writers.flush()

    def on_train_end(self, logs=None):
        self.writers.flush()


def learning_rate(optimizer):
    """The optimizer's current learning rate (of a schedule too) as a float; None for a
    model that trains itself without a `learning_rate`."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    rate = getattr(inner, "learning_rate", None)
    return None if rate is None else float(np.asarray(keras.ops.convert_to_numpy(rate)))


def _known(scalars):
    return {name: value for name, value in scalars.items() if value is not None}


def _rate(start, now, examples):
    started, examples_then = start
    return (examples - examples_then) / max(now - started, 1e-9)
