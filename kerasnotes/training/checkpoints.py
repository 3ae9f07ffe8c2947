"""Checkpoints of a training run: save, restore, and agreement of the workers on resume."""

import os

import tensorflow as tf

from kerasnotes.training.strategy import is_chief, worker_dir


class NonFiniteLossError(FloatingPointError):
    """Raised when the loss, the weights or a validation result becomes NaN or infinite."""


class RunCheckpoint:
    """Model, optimizer, metric states, epoch and step of a run, in `run_dir/checkpoints`.

    A thin layer over `tf.train.Checkpoint` and `tf.train.CheckpointManager` with the rules
    the apps promise:

    - a checkpoint is written only from finite weights (`save` raises
      `NonFiniteLossError` instead, so the newest checkpoint is always the last good one);
    - `restore` loads the newest checkpoint and, under multi-worker training, checks that
      every worker restored the same global step;
    - only the chief's copy is kept (other workers save to a private folder, then delete it:
      saving may run collective ops, so every worker must call `save`).

    Args:
        run_dir: the run folder (`None`: no checkpoints).
        strategy: the training strategy.
        max_to_keep: how many checkpoints to keep.
        **objects: what to save, e.g. `model=model, optimizer=optimizer, epoch=epoch`.
    """

    def __init__(self, run_dir, strategy, max_to_keep=3, **objects):
        self.strategy = strategy
        self.checkpoint = tf.train.Checkpoint(**objects)
        self.directory = None
        self.manager = None
        if run_dir is not None:
            self.directory = os.path.join(run_dir, "checkpoints")
            self.manager = tf.train.CheckpointManager(
                self.checkpoint, worker_dir(self.directory, strategy), max_to_keep=max_to_keep
            )

    @property
    def latest(self):
        """Path of the newest checkpoint of the run (`None` if there is none)."""
        return tf.train.latest_checkpoint(self.directory) if self.directory else None

    def restore(self):
        """Restores the newest checkpoint; returns its path, or `None` when there is none."""
        latest = self.latest
        if latest:
            self.checkpoint.restore(latest).assert_existing_objects_matched()
        return latest

    def save(self, number, variables, where):
        """Saves checkpoint `number` if every variable in `variables` is finite.

        `where` describes the position (e.g. "epoch 2, step 16") for the error message.
        """
        if self.manager is None:
            return None
        if not all_finite(variables):
            raise NonFiniteLossError(
                f"the weights became NaN or infinite at {where}; nothing was saved. The last "
                f"good checkpoint is {self.latest or 'none (no checkpoint yet)'}. Lower the "
                "learning rate or clip gradients, then rerun (the run resumes from it)."
            )
        path = self.manager.save(checkpoint_number=number)
        if not is_chief(self.strategy):
            tf.io.gfile.rmtree(self.manager.directory)
        return path

    def check_workers_agree(self, global_step):
        """Raises if the workers of a multi-worker run restored different global steps."""
        if not self.strategy.extended._in_multi_worker_mode():
            return
        # Every worker computes the same mean and mean square of the restored global step;
        # they differ only if some worker restored another checkpoint, and then all raise.
        position = tf.cast(global_step, tf.float64)
        per_replica = self.strategy.run(lambda: tf.stack([position, position * position]))
        mean, mean_square = self.strategy.reduce(
            tf.distribute.ReduceOp.MEAN, per_replica, axis=None
        ).numpy()
        if mean_square - mean * mean > 1e-9:
            raise RuntimeError(
                "workers restored different checkpoints (mean global step "
                f"{mean:.1f}). Put the run folder on storage that every worker can read, or "
                "remove the stale checkpoints."
            )


@tf.function(reduce_retracing=True)
def _all_finite(tensors):
    return tf.reduce_all([tf.reduce_all(tf.math.is_finite(t)) for t in tensors])


def all_finite(variables):
    """True when every floating-point variable in `variables` holds only finite values."""
    values = [tf.convert_to_tensor(_tf_value(v)) for v in variables]
    values = [v for v in values if v.dtype.is_floating]
    return True if not values else bool(_all_finite(values))


def _tf_value(variable):
    """A Keras variable's TF variable (`.value`); TF variables and tensors as they are."""
    if isinstance(variable, (tf.Variable, tf.Tensor)):
        return variable
    return getattr(variable, "value", variable)
