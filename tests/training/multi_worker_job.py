"""One worker of the multi-worker test: `python multi_worker_job.py OUT.npz RUN_DIR`.

TF_CONFIG names the cluster and this worker. Trains the tiny model of
`tiny_problem()` through the Trainer under MultiWorkerMirroredStrategy and saves the final
weights.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from kerasnotes.training.strategy import choose_strategy  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from tiny_problem import EPOCHS, build_trainer, dataset_for_epoch  # noqa: E402


def main(out_path, run_dir):
    strategy = choose_strategy("auto")
    assert isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy), strategy
    trainer = build_trainer(strategy, run_dir)
    history = trainer.fit(dataset_for_epoch, epochs=EPOCHS)
    weights = trainer.model.get_weights()
    np.savez(out_path, *weights, losses=np.array(history["loss"]))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
