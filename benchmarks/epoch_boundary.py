"""Cost of an epoch boundary in the Trainer: tf.data autotune on (A) vs off (B, the default).

Deleting a used-up iterator of an autotuned pipeline sometimes blocks 1-3 s here. The
Trainer turns autotuning off for the datasets it iterates (`epoch_inputs.stall_free`). This
script trains a tiny model for 21 epochs of 2 steps on an app-like pipeline (a parallel
map and a prefetch, both AUTOTUNE) and measures, for each of the 20 boundaries, the time
between the last step of epoch e and the first step of epoch e + 1, minus the time between
two steps inside an epoch. A and B alternate (A B A B ...) in one process, same threads.
It then times the cause itself: `del` of a used-up iterator of the same pipeline, 20 per
round, autotune on vs off, interleaved.

    python -m benchmarks.epoch_boundary [--rounds 2]
    python -m benchmarks.epoch_boundary --rounds 1 --epochs 3      # smoke run
"""

import argparse
import statistics
import time

import keras
import numpy as np
import tensorflow as tf

from benchmarks import harness
from kerasnotes.training import epoch_inputs
from kerasnotes.training import trainer as trainer_module

EPOCHS = 21
STEPS = 2


def dataset_for_epoch(epoch):
    x = np.random.default_rng(epoch).normal(size=(STEPS * 32, 16)).astype("float32")
    y = x[:, :1] * 2.0
    return (tf.data.Dataset.from_tensor_slices((x, y))
            .map(lambda a, b: (a * 1.0, b), num_parallel_calls=tf.data.AUTOTUNE)
            .batch(32).prefetch(tf.data.AUTOTUNE))


def boundary_costs(autotune, epochs=EPOCHS):
    original = epoch_inputs.stall_free
    if autotune:
        epoch_inputs.stall_free = lambda dataset: dataset
    try:
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(8),
                                  keras.layers.Dense(1)])
        ends = []  # when each step ended
        probe = keras.callbacks.LambdaCallback(
            on_train_batch_end=lambda batch, logs: ends.append(time.perf_counter()))
        trainer = trainer_module.Trainer(model, keras.losses.MeanSquaredError(),
                                         keras.optimizers.SGD(0.01), callbacks=[probe],
                                         verbose=0)
        trainer.fit(dataset_for_epoch, epochs=epochs)
    finally:
        epoch_inputs.stall_free = original
    times = np.array(ends).reshape(epochs, STEPS)
    inside = np.median(times[:, 1] - times[:, 0])
    across = times[1:, 0] - times[:-1, 1]
    return across - inside


def iterator_delete_costs(autotune, count=20):
    """Seconds each `del iterator` takes after the iterator has yielded its last batch."""
    options = tf.data.Options()
    options.autotune.enabled = autotune
    costs = []
    for epoch in range(count):
        iterator = iter(dataset_for_epoch(epoch).with_options(options))
        for _ in iterator:
            pass
        start = time.perf_counter()
        del iterator
        costs.append(time.perf_counter() - start)
    return costs


def compare(title, measure, rounds):
    """Runs `measure(autotune)` for autotune on (A) and off (B), alternating, and prints the
    costs of each side; returns `(A costs, B costs)` in seconds."""
    costs = {True: [], False: []}
    for _ in range(rounds):
        for autotune in (True, False):
            costs[autotune].extend(measure(autotune))
    print(f"{title}:")
    for autotune, name in ((True, "A autotune on"), (False, "B autotune off (Trainer default)")):
        costs_ms = np.array(costs[autotune]) * 1000
        print(f"  {name:34s} count {len(costs_ms):3d}  median {np.median(costs_ms):7.1f} ms"
              f"  max {costs_ms.max():7.1f} ms  over 50 ms: {(costs_ms > 50).sum()}")
    return costs[True], costs[False]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=EPOCHS,
                        help="epochs per Trainer run (default 21: 20 boundaries)")
    args = parser.parse_args()
    with harness.session("Epoch boundaries: autotune on (A) vs off (B)", threads=2):
        boundary_costs(False, args.epochs)  # warm-up: tracing
        a_costs, b_costs = compare("Epoch boundaries of the Trainer",
                                   lambda autotune: boundary_costs(autotune, args.epochs),
                                   args.rounds)
        print(f"max boundary cost A / B: {max(a_costs) / max(max(b_costs), 1e-6):.1f}x; "
              f"median A / B: "
              f"{statistics.median(a_costs) / max(statistics.median(b_costs), 1e-6):.2f}x")
        compare("del of a used-up iterator", iterator_delete_costs, args.rounds)
    harness.print_target("largest epoch boundary cost, Trainer default,", 1e3 * max(b_costs),
                         "< 50 ms", unit=" ms")


if __name__ == "__main__":
    main()
