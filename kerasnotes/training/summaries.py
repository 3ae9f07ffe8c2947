"""TensorBoard summary writers of a run: `run_dir/train` and `run_dir/validation`."""

import os

import tensorflow as tf

from kerasnotes.training.strategy import is_chief


class SummaryWriters:
    """The two `tf.summary` writers a run writes to; no-op writers off the chief.

    TensorBoard shows `train` and `validation` as two runs whose curves overlay: the
    Trainer writes `epoch_<name>` scalars to both at `step=epoch`, and `batch_loss`,
    `learning_rate`, `examples_per_second` to `train` at `step=global_step`.

    Args:
        run_dir: the run folder (`None`: no summaries).
        strategy: the training strategy; only its chief writes.

    Example:

    >>> writers = SummaryWriters("runs/lenet")
    >>> writers.scalars("train", {"loss": 0.3}, step=0, prefix="epoch_")
    """

    def __init__(self, run_dir, strategy=None):
        self.run_dir = run_dir
        if run_dir is not None and is_chief(strategy):
            self._writers = {
                name: tf.summary.create_file_writer(os.path.join(run_dir, name))
                for name in ("train", "validation")
            }
        else:
            noop = tf.summary.create_noop_writer()
            self._writers = {"train": noop, "validation": noop}

    def __getitem__(self, name):
        return self._writers[name]

    def scalars(self, name, values, step, prefix=""):
        """Writes `{tag: value}` to writer `name` as `prefix + tag` at `step`."""
        with self._writers[name].as_default():
            for tag, value in values.items():
                tf.summary.scalar(prefix + tag, value, step=step)

    def flush(self):
        for writer in self._writers.values():
            writer.flush()
