"""Trainer vs `model.fit`: LeNet, same data, batch size and optimizer, default strategy.

    python benchmarks/trainer_overhead.py [--runs 5] [--num-train 20000] [--batch-size 256]

Prints the steps/s of each (median over --runs epochs, after one warm-up epoch each, runs
interleaved) and the ratio Trainer / fit. Both sides: the notes' LeNet, SGD, sparse softmax
cross-entropy from logits, an accuracy metric, no XLA (`jit_compile=False` for fit: XLA made
LeNet ~3x slower on this CPU, see ../shared/STACK.md), no progress bar.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from kerasnotes.data.images.classification_datasets import make_classification_dataset  # noqa: E402
from kerasnotes.data.images.synthetic_glyphs import load_synthetic_glyphs  # noqa: E402
from kerasnotes.models.lenet import LeNet  # noqa: E402
from kerasnotes.training.trainer import Trainer  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--num-train", type=int, default=20000)
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()

    (x, y), _ = load_synthetic_glyphs(num_train=args.num_train, num_test=0)
    steps = -(-len(x) // args.batch_size)

    def data(epoch):
        return make_classification_dataset(x, y, args.batch_size, shuffle_seed=0, epoch=epoch)

    def loss():
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    keras.utils.set_random_seed(0)
    fit_model = LeNet()
    fit_model.compile(optimizer=keras.optimizers.SGD(0.9), loss=loss(),
                      metrics=[keras.metrics.SparseCategoricalAccuracy()], jit_compile=False)
    trainer_model = LeNet()
    trainer = Trainer(trainer_model, loss(), keras.optimizers.SGD(0.9),
                      [keras.metrics.SparseCategoricalAccuracy()], verbose=0)

    fit_model.fit(data(0), epochs=1, verbose=0)  # warm-up: tracing
    trainer.fit(data, epochs=1)
    fit_rates, trainer_rates = [], []
    for run in range(args.runs):
        start = time.perf_counter()
        fit_model.fit(data(run + 1), epochs=1, verbose=0)
        fit_rates.append(steps / (time.perf_counter() - start))
        start = time.perf_counter()
        trainer.fit(data, epochs=run + 2)  # one more epoch
        trainer_rates.append(steps / (time.perf_counter() - start))
    fit_median, trainer_median = statistics.median(fit_rates), statistics.median(trainer_rates)
    print(f"LeNet, {len(x)} images, batch {args.batch_size}, {steps} steps/epoch, "
          f"{args.runs} runs, TF {tf.__version__}, Keras {keras.__version__}")
    fit_runs = ", ".join(f"{r:.1f}" for r in fit_rates)
    print(f"model.fit: {fit_median:8.1f} steps/s  (runs: {fit_runs})")
    print(f"Trainer:   {trainer_median:8.1f} steps/s  "
          f"(runs: {', '.join(f'{r:.1f}' for r in trainer_rates)})")
    print(f"ratio Trainer / fit: {trainer_median / fit_median:.3f}  (target >= 0.95)")


if __name__ == "__main__":
    main()
