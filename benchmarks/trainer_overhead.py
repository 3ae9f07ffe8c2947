"""The Trainer's overhead against Keras `model.fit`, per step and with steps_per_execution.

    python -m benchmarks.trainer_overhead [--runs 5] [--num-train 20000] [--batch-size 256]
    python -m benchmarks.trainer_overhead --steps-per-execution 16 [--rounds 3]
    python -m benchmarks.trainer_overhead --runs 1 --num-train 512                # smoke runs
    python -m benchmarks.trainer_overhead --steps-per-execution 4 --rounds 1 --num-train 640

Default: LeNet's steps/s under `model.fit` and under the Trainer (median over --runs epochs,
after one warm-up epoch each, runs interleaved) and the ratio Trainer / fit. Both sides: the
notes' LeNet on the synthetic glyphs, SGD, sparse softmax cross-entropy from logits, an
accuracy metric, no XLA (`jit_compile=False` for fit: XLA made LeNet ~3x slower on this CPU,
see ../shared/STACK.md), no progress bar.

`--steps-per-execution N`: examples/s of the Trainer with 1 step per call (A), with N (B)
and of `model.fit` with `steps_per_execution=N` (C), on the small models where per-step
Python overhead matters (an MLP and LeNet, random 28x28 images, SGD 0.1); same data, same
weights, 2 threads, A B C rounds of 2 epochs each in one process; prints B / A and B / C.
"""

import argparse
import itertools
import statistics

import keras
import numpy as np
import tensorflow as tf

from benchmarks import harness
from kerasnotes.data.images.classification_datasets import make_classification_dataset
from kerasnotes.data.images.synthetic_glyphs import load_synthetic_glyphs
from kerasnotes.models.lenet import LeNet
from kerasnotes.models.mlp import MLP
from kerasnotes.training.trainer import Trainer


def loss():
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def more_epochs(trainer, data, epochs=1):
    """A function that trains `epochs` more epochs per call (the Trainer resumes at its
    own epoch counter)."""
    return lambda: trainer.fit(data, epochs=int(trainer.epoch.numpy()) + epochs)


def trainer_vs_fit(args):
    (x, y), _ = load_synthetic_glyphs(num_train=args.num_train, num_test=0)
    steps = -(-len(x) // args.batch_size)
    epochs = itertools.count()

    def data(epoch):
        return make_classification_dataset(x, y, args.batch_size, shuffle_seed=0, epoch=epoch)

    keras.utils.set_random_seed(0)
    fit_model = LeNet()
    fit_model.compile(optimizer=keras.optimizers.SGD(0.9), loss=loss(),
                      metrics=[keras.metrics.SparseCategoricalAccuracy()], jit_compile=False)
    trainer = Trainer(LeNet(), loss(), keras.optimizers.SGD(0.9),
                      [keras.metrics.SparseCategoricalAccuracy()], verbose=0)
    times = harness.interleaved({
        "model.fit": lambda: fit_model.fit(data(next(epochs)), epochs=1, verbose=0),
        "Trainer": more_epochs(trainer, data)}, args.runs)
    print(f"LeNet, {len(x)} images, batch {args.batch_size}, {steps} steps/epoch, "
          f"{args.runs} runs, TF {tf.__version__}, Keras {keras.__version__}")
    for name, values in times.items():
        print(f"{name + ':':10s} {steps / statistics.median(values):8.1f} steps/s  (runs: "
              f"{', '.join(f'{steps / v:.1f}' for v in values)})")
    ratio = statistics.median(times["model.fit"]) / statistics.median(times["Trainer"])
    print(f"ratio Trainer / fit: {ratio:.3f}  (target >= 0.95)")
    return "Trainer / model.fit steps/s", ratio, ">= 0.95"


def steps_per_execution(args):
    n, count = args.steps_per_execution, args.num_train
    rng = np.random.default_rng(0)
    x = rng.random((count, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, count)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(args.batch_size).cache()
    worst = float("inf")
    for name in ("mlp", "lenet"):
        variants = {}
        for key, spe in (("A", 1), ("B", n)):
            trainer = Trainer(build(name), loss(), keras.optimizers.SGD(0.1),
                              steps_per_execution=spe, verbose=0)
            variants[key] = more_epochs(trainer, dataset, epochs=2)
        model = build(name)
        model.compile(keras.optimizers.SGD(0.1), loss(), steps_per_execution=n)
        variants["C"] = lambda model=model: model.fit(dataset, epochs=2, verbose=0)
        times = harness.interleaved(variants, args.rounds)
        a, b, c = (2 * count / statistics.median(times[k]) for k in "ABC")
        worst = min(worst, b / a)
        print(f"{name:6s} batch {args.batch_size}: A Trainer spe=1 {a:9.0f} ex/s | B Trainer "
              f"spe={n} {b:9.0f} ex/s | C fit spe={n} {c:9.0f} ex/s | B/A {b / a:.2f}x  "
              f"B/C {b / c:.2f}x", flush=True)
    return f"lowest Trainer spe={n} / spe=1 examples/s", worst, "> 1"


def build(name):
    keras.utils.set_random_seed(0)
    if name == "mlp":
        return MLP(num_classes=10, input_shape=(28, 28, 1), hidden_units=(256,))
    return LeNet(num_classes=10, input_shape=(28, 28, 1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="Trainer vs fit: timed epochs")
    parser.add_argument("--num-train", type=int, default=None,
                        help="training examples (default 20000; 12800 with spe)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="default 256; 64 with --steps-per-execution")
    parser.add_argument("--steps-per-execution", type=int, default=None,
                        help="compare Trainer spe=1, spe=N and fit spe=N instead")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the spe comparison")
    args = parser.parse_args()
    spe = args.steps_per_execution
    args.num_train = args.num_train or (12800 if spe else 20000)
    args.batch_size = args.batch_size or (64 if spe else 256)
    with harness.session("Trainer vs model.fit" + (f", steps_per_execution {spe}" if spe else ""),
                         threads=2 if spe else None):
        target = steps_per_execution(args) if spe else trainer_vs_fit(args)
    harness.print_target(*target)


if __name__ == "__main__":
    main()
