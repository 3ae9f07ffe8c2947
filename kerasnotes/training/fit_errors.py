"""What a TensorFlow error during `Trainer.fit` means to the user: a full disk, a lost worker."""

import os
import re

from kerasnotes.training.disk_space import is_disk_full, no_space_error
from kerasnotes.training.preemption import lost_worker_error


def fit_error(error, strategy, run_dir, latest_checkpoint):
    """The error to raise instead of `error` (a `tf.errors.OpError`), or None to re-raise it.

    - a full disk (e.g. TensorBoard events; checkpoints say it themselves): `OSError(ENOSPC)`
      naming the folder of the write, and that the checkpoints are intact;
    - a lost worker under multi-worker training: `WorkerLostError` naming it.

    Example:

    >>> try:
    ...     train()
    ... except tf.errors.OpError as error:
    ...     raise (fit_error(error, strategy, "runs/x", checkpoint.latest) or error)
    """
    if is_disk_full(error):
        written = re.search(r"(\S+); No space left on device", str(error))
        folder = os.path.dirname(written.group(1)) if written else run_dir or "."
        newest = os.path.basename(latest_checkpoint) if latest_checkpoint else "none"
        what = ("TensorBoard events" if "tfevents" in str(error)
                else "a file written during training")
        return no_space_error(
            folder, what, 0, f"the checkpoints are intact (newest: {newest}). Free some "
            "space, then rerun the same command to resume", at_least=True)
    return lost_worker_error(error, strategy, latest_checkpoint)


def foreign_checkpoint_error(directory, error):
    """The `ValueError` for a checkpoint of other objects than the run's (the
    `AssertionError` of `tf.train.Checkpoint.restore(...).assert_existing_objects_matched`),
    e.g. one written by another model or by an older version of the code.

    Example:

    >>> try:
    ...     checkpoint.restore()
    ... except AssertionError as error:
    ...     raise foreign_checkpoint_error(checkpoint.directory, error) from None
    """
    return ValueError(
        f"the newest checkpoint in {directory} is not one of this model's "
        f"({str(error).split('. ')[0]}: another model, or an older version of the code, "
        "wrote it); nothing was changed. Train in a new run folder (or start afresh: "
        "not resuming moves this one aside)")
