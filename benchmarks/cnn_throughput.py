"""Training and inference throughput of the CNN models: our blocks vs plain Keras layers.

For each model, the network built from kerasnotes blocks (`VGGBlock`, `Inception`,
`Residual`, ...) and the same architecture written with plain Keras layers only (the
reference builders of tests/reference/cnn_models.py, checked by tests/models/test_cnn_models.py
to compute the same function) are timed on the same batch, both as `tf.function`-compiled steps:

    train step:     forward (training=True), sparse cross-entropy, gradients, SGD update
    inference step: forward (training=False)

Each run times `--steps` calls of one step for both variants, interleaved (alternating which
goes first); the script prints the median images/s over `--runs` runs of each variant and
the ratio ours / plain as the median of the per-run paired ratios (target >= 0.95). AlexNet
has no block (both variants are the same plain layers), so its ratio shows the noise level
of the machine. Before timing it copies our weights into the plain model and
checks the outputs agree, and it compares the op types of the two traced graphs ("same
ops": the same multiset of TF ops in both train and inference steps), which does not depend
on the load of the machine.

The default configurations (`DEFAULT_CONFIGS`: image side and width divisor per model,
batch 32, 1 channel, 10 classes) are scaled down for a 2-core CPU: the whole default run
took 1.5-3 minutes there while other processes shared the cores. `--image-size`,
`--width-divisor` and `--batch-size` override them for all selected models.

Run from the repository root (the plain models come from `tests.reference`):

    python -m benchmarks.cnn_throughput
    python -m benchmarks.cnn_throughput --models resnet18,densenet --runs 7 --steps 5
    python -m benchmarks.cnn_throughput --models googlenet --image-size 96 --width-divisor 1
    python -m benchmarks.cnn_throughput --models alexnet --runs 1 --steps 1 \
        --min-run-seconds 0                                              # smoke run
"""

import argparse
import collections
import math
import statistics
import time

import keras
import numpy as np
import tensorflow as tf

from benchmarks import harness
from tests.reference.cnn_blocks import copy_weights
from tests.reference.cnn_models import PLAIN_MODELS

# name -> (image side, width divisor) of the default, CPU-sized configuration.
DEFAULT_CONFIGS = {
    "alexnet": (96, 4),
    "vgg": (64, 4),
    "nin": (96, 4),
    "googlenet": (64, 2),
    "resnet18": (64, 2),
    "densenet": (64, 1),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(DEFAULT_CONFIGS),
                        help="comma-separated subset of: " + ", ".join(DEFAULT_CONFIGS))
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--image-size", type=int, default=None,
                        help="square image side for every model (default: per model)")
    parser.add_argument("--width-divisor", type=int, default=None,
                        help="channel divisor for every model (default: per model)")
    parser.add_argument("--channels", type=int, default=1, help="image channels")
    parser.add_argument("--num-classes", type=int, default=10)
    parser.add_argument("--runs", type=int, default=15,
                        help="timed runs per variant and step kind; medians are shown")
    parser.add_argument("--steps", type=int, default=2, help="minimum steps per timed run")
    parser.add_argument("--min-run-seconds", type=float, default=0.4,
                        help="more steps per run when a run would be shorter than this")
    args = parser.parse_args(argv)
    args.models = [name.strip() for name in args.models.split(",") if name.strip()]
    unknown = sorted(set(args.models) - set(DEFAULT_CONFIGS))
    if unknown:
        parser.error(f"unknown models {unknown}; choose from {list(DEFAULT_CONFIGS)}")
    return args


def make_steps(model):
    train_step = harness.train_step(
        model, keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        keras.optimizers.SGD(learning_rate=0.01))
    infer_step = tf.function(lambda images: model(images, training=False))
    return train_step, infer_step


def graph_op_counts(step, args):
    """Multiset of op types in the traced graph of `step`."""
    graph = step.get_concrete_function(*args).graph
    return collections.Counter(op.type for op in graph.get_operations())


def benchmark(name, args):
    model_class, plain_builder = PLAIN_MODELS[name]
    side, divisor = DEFAULT_CONFIGS[name]
    side = args.image_size or side
    divisor = args.width_divisor or divisor
    config = dict(num_classes=args.num_classes, input_shape=(side, side, args.channels),
                  width_divisor=divisor)
    ours, plain = model_class(**config), plain_builder(**config)
    copy_weights(ours, plain)
    rng = np.random.default_rng(0)
    images = tf.constant(rng.uniform(0, 1, (args.batch_size, side, side, args.channels)),
                         tf.float32)
    labels = tf.constant(rng.integers(0, args.num_classes, args.batch_size), tf.int32)
    difference = np.max(np.abs(np.asarray(ours(images, training=False))
                               - np.asarray(plain(images, training=False))))
    if not difference < 1e-4:
        raise RuntimeError(f"{name}: ours and plain differ by {difference}")

    variants = {"ours": make_steps(ours), "plain": make_steps(plain)}
    step_args = {"train": (images, labels), "infer": (images,)}
    graphs_match = all(
        graph_op_counts(variants["ours"][i], step_args[kind])
        == graph_op_counts(variants["plain"][i], step_args[kind])
        for i, kind in enumerate(("train", "infer")))
    rates, ratios = {}, {}
    for i, kind in enumerate(("train", "infer")):
        calls = {v: lambda f=variants[v][i], a=step_args[kind]: f(*a) for v in variants}
        # Warm up; size the runs.
        seconds = max(harness.time_steps(call, 2, warmup=1) for call in calls.values())
        steps = max(args.steps, math.ceil(args.min_run_seconds / seconds))
        # Interleaved pairs (alternating which goes first): the ratio is the median of pairs.
        times = harness.interleaved(calls, args.runs, steps, warmup=0)
        for variant, values in times.items():
            rates[variant, kind] = args.batch_size / statistics.median(values)
        ratios[kind] = harness.ratio(times["plain"], times["ours"])
    return config, ours.count_params(), rates, ratios, graphs_match


def main(argv=None):
    args = parse_args(argv)
    with harness.session(f"TF {tf.__version__}, Keras {keras.__version__}; batch "
                         f"{args.batch_size}, median of {args.runs} runs x {args.steps} steps; "
                         "images/s, ratio = ours / plain"):
        worst = run(args)
    harness.print_target("lowest ours/plain speed (training, inference)", worst, ">= 0.95")


def run(args):
    """Prints one row per model; returns the lowest ratio."""
    header = (f"{'model':<10} {'input':>11} {'div':>3} {'params':>10} | {'train ours':>10} "
              f"{'plain':>8} {'ratio':>6} | {'infer ours':>10} {'plain':>8} {'ratio':>6} | "
              "same ops")
    print(header)
    print("-" * len(header))
    total, worst = time.perf_counter(), float("inf")
    for name in args.models:
        config, params, rates, ratios, graphs_match = benchmark(name, args)
        train, infer = ratios["train"], ratios["infer"]
        worst = min(worst, train, infer)
        shape = "x".join(str(d) for d in config["input_shape"])
        print(f"{name:<10} {shape:>11} {config['width_divisor']:>3} {params:>10,} | "
              f"{rates['ours', 'train']:>10.1f} {rates['plain', 'train']:>8.1f} "
              f"{train:>6.3f} | {rates['ours', 'infer']:>10.1f} "
              f"{rates['plain', 'infer']:>8.1f} {infer:>6.3f} | "
              f"{'yes' if graphs_match else 'no'}", flush=True)
    print(f"total {time.perf_counter() - total:.0f} s")
    return worst


if __name__ == "__main__":
    main()
