"""Trainer throughput with steps_per_execution = 1 (A) vs N (B), and Keras `fit` with the
same N (C), on the small models where per-step Python overhead matters (MLP, LeNet).

Same data, same weights, same threads; A B C A B C ... in one process. Prints examples/s
and the ratios B / A and B / C.

    python benchmarks/steps_per_execution.py [--steps-per-execution 16] [--rounds 3]
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from kerasnotes.models.lenet import LeNet  # noqa: E402
from kerasnotes.models.mlp import MLP  # noqa: E402
from kerasnotes.training.trainer import Trainer  # noqa: E402

NUM_EXAMPLES = 12800


def data(batch_size):
    rng = np.random.default_rng(0)
    x = rng.random((NUM_EXAMPLES, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, NUM_EXAMPLES)
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size).cache()


def build(name):
    keras.utils.set_random_seed(0)
    model = (MLP(num_classes=10, input_shape=(28, 28, 1), hidden_units=(256,)) if name == "mlp"
             else LeNet(num_classes=10, input_shape=(28, 28, 1)))
    return model, keras.optimizers.SGD(0.1)


def trainer_rate(name, dataset, steps_per_execution, epochs=2):
    model, optimizer = build(name)
    trainer = Trainer(model, keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      optimizer, steps_per_execution=steps_per_execution, verbose=0)
    trainer.fit(dataset, epochs=1)  # tracing
    start = time.perf_counter()
    trainer.fit(dataset, epochs=1 + epochs)
    return epochs * NUM_EXAMPLES / (time.perf_counter() - start)


def fit_rate(name, dataset, steps_per_execution, epochs=2):
    model, optimizer = build(name)
    model.compile(optimizer, keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  steps_per_execution=steps_per_execution)
    model.fit(dataset, epochs=1, verbose=0)
    start = time.perf_counter()
    model.fit(dataset, epochs=epochs, verbose=0)
    return epochs * NUM_EXAMPLES / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps-per-execution", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(2)
    dataset = data(args.batch_size)
    n = args.steps_per_execution
    for name in ("mlp", "lenet"):
        rates = {"A": [], "B": [], "C": []}
        for _ in range(args.rounds):
            rates["A"].append(trainer_rate(name, dataset, 1))
            rates["B"].append(trainer_rate(name, dataset, n))
            rates["C"].append(fit_rate(name, dataset, n))
        a, b, c = (statistics.median(rates[k]) for k in "ABC")
        print(f"{name:6s} batch {args.batch_size}: A Trainer spe=1 {a:9.0f} ex/s | B Trainer "
              f"spe={n} {b:9.0f} ex/s | C fit spe={n} {c:9.0f} ex/s | B/A {b / a:.2f}x  "
              f"B/C {b / c:.2f}x")


if __name__ == "__main__":
    main()
