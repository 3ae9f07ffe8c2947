"""Test-only fault injection: end the process at a chosen phase and global step.

Reliability tests need kills at exact points, not timed ones. Set the environment variable
`KERASNOTES_FAIL_AT` to `PHASE` or `PHASE:GLOBAL_STEP` and the process ends with
`os._exit(FAULT_EXIT_CODE)` (no cleanup, like `kill -9`) the first time the Trainer or the
app runner reaches that point. Phases:

- `after_step`: after the optimizer step that reached GLOBAL_STEP;
- `after_checkpoint`: right after a checkpoint was written at GLOBAL_STEP;
- `validation`: at the start of the validation of an epoch (GLOBAL_STEP = the step then);
- `epoch_end`: after validation and callbacks, before the epoch-end checkpoint;
- `export`: while the SavedModel is being written (the temporary folder exists).

Example:

    KERASNOTES_FAIL_AT=validation:16 python -m apps.classify --epochs 2 ...
"""

import os
import sys

FAULT_EXIT_CODE = 97
PHASES = ("after_step", "after_checkpoint", "validation", "epoch_end", "export")


def fail_point(phase, global_step=None):
    """Ends the process if `KERASNOTES_FAIL_AT` names this phase (and step)."""
    wanted = os.environ.get("KERASNOTES_FAIL_AT")
    if not wanted:
        return
    name, _, step = wanted.partition(":")
    if name not in PHASES:
        raise ValueError(f"KERASNOTES_FAIL_AT={wanted!r}: unknown phase {name!r}; "
                         f"expected one of {', '.join(PHASES)}")
    if name != phase or (step and global_step is not None and int(step) != int(global_step)):
        return
    print(f"KERASNOTES_FAIL_AT={wanted}: ending the process here (fault injection)",
          file=sys.stderr, flush=True)
    os._exit(FAULT_EXIT_CODE)


def poison_callback():
    """A Keras callback that sets the model's weights to NaN after the global step named by
    `KERASNOTES_POISON_AT` (test-only: a deterministic divergence), or None when unset."""
    step = os.environ.get("KERASNOTES_POISON_AT")
    if not step:
        return None
    import keras
    import numpy as np

    class PoisonWeights(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if int(batch) == int(step):
                for weight in self.model.trainable_weights:
                    weight.assign(np.full(weight.shape, np.nan, weight.dtype))

    return PoisonWeights()
