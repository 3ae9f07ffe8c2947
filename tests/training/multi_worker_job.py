"""One worker of the multi-worker tests: `python multi_worker_job.py OUT.npz RUN_DIR`.

TF_CONFIG names the cluster and this worker. Trains the tiny model of `tiny_problem` through
the Trainer under MultiWorkerMirroredStrategy and saves the final weights and losses.

Test-only switches (environment):
- `SIGTERM_AT=STEP`: this worker sends itself SIGTERM after global step STEP (a
  deterministic "preemption" in the middle of an epoch);
- `HOLD_AT=STEP:PATH`: this worker writes PATH after global step STEP, then waits there
  (for the test to kill it);
- `EPOCHS`: overrides the number of epochs;
- `ONE_ITERATOR=1`: one input iterator for the run (`fit(..., steps_per_epoch=...)`).

Exit codes as the apps': 0 done, 75 preempted (checkpoint saved), 4 lost a worker, 130
Ctrl-C.
Progress lines ("ready", "preempted: ...", "error: ...") go to stdout with the time since
the start.
"""

import gc
import os
import signal
import sys
import time

START = time.monotonic()
# Ctrl-C as at a terminal: a test run started in the background by a non-interactive shell
# (`cmd &`) has SIGINT ignored, and a child inherits that, so it would never see the tests'
# SIGINT.
signal.signal(signal.SIGINT, signal.default_int_handler)
from kerasnotes.utils.tensorflow_startup import import_tensorflow  # noqa: E402 - the apps' quiet start-up

import_tensorflow()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from kerasnotes.training.preemption import (  # noqa: E402
    EXIT_PREEMPTED,
    EXIT_WORKER_LOST,
    Preempted,
    WorkerLostError,
)
from kerasnotes.training.strategy import choose_strategy  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from tiny_problem import (  # noqa: E402
    EPOCHS,
    STEPS_PER_EPOCH,
    build_trainer,
    dataset_for_epoch,
    whole_run_from,
)


def say(message):
    print(f"[{time.monotonic() - START:.2f} s] {message}", flush=True)


class AtStep(keras.callbacks.Callback):
    """Calls `action()` once, after global step `step`."""

    def __init__(self, step, action):
        super().__init__()
        self.step, self.action = int(step), action

    def on_train_batch_end(self, batch, logs=None):
        if int(batch) == self.step:
            self.action()


def test_callbacks():
    callbacks = []
    if os.environ.get("SIGTERM_AT"):
        callbacks.append(AtStep(os.environ["SIGTERM_AT"],
                                lambda: os.kill(os.getpid(), signal.SIGTERM)))
    if os.environ.get("HOLD_AT"):
        step, path = os.environ["HOLD_AT"].split(":", 1)

        def hold():
            open(path, "w").close()
            time.sleep(120)

        callbacks.append(AtStep(step, hold))
    return callbacks


def main(out_path, run_dir):
    strategy = choose_strategy("auto")
    assert isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy), strategy
    say("ready")
    trainer = build_trainer(strategy, run_dir, callbacks=test_callbacks())
    epochs = int(os.environ.get("EPOCHS", EPOCHS))
    if os.environ.get("ONE_ITERATOR"):
        history = trainer.fit(lambda first: whole_run_from(first, epochs), epochs=epochs,
                              steps_per_epoch=STEPS_PER_EPOCH)
    else:
        history = trainer.fit(dataset_for_epoch, epochs=epochs)
    np.savez(out_path, *trainer.model.get_weights(), losses=np.array(history["loss"]))
    say("done")


if __name__ == "__main__":
    try:
        main(sys.argv[1], sys.argv[2])
    except Preempted as stop:
        say(f"preempted: {stop}")
        sys.exit(EXIT_PREEMPTED)
    except WorkerLostError as error:
        say(f"error: {error}")
        sys.exit(EXIT_WORKER_LOST)
    except KeyboardInterrupt:
        say("interrupted")
        sys.exit(130)
    finally:
        gc.freeze()  # no final garbage collection of TensorFlow's objects: exits 5 s sooner
