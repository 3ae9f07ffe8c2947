"""Time per `apply_gradients` step: kerasnotes optimizers vs the Keras built-in of each family.

The variables have the shapes of ResNet-18 for 1000 classes (11.7M parameters: convolution
kernels without bias, batch-norm gamma/beta, the dense classifier). Each step runs inside a
`tf.function` as `fit` does (no XLA). Ours and Keras' run alternately in short rounds
(`--repeats` rounds of `--steps` steps each), so both see the same load from other
processes; the median time per step is reported and the ratio is ours speed / Keras speed
(Keras time / our time; target >= 0.9). The number of ops in each traced step graph is
printed too: unlike the times, it does not depend on other load.

    python -m benchmarks.optimizer_step [--repeats 21] [--steps 2] [--only Adam]
    python -m benchmarks.optimizer_step --repeats 1 --steps 1 --only SGD     # smoke run
"""

import argparse
import statistics

import keras
import numpy as np
import tensorflow as tf

from benchmarks import harness
from kerasnotes.optimizers.adadelta import AdaDelta
from kerasnotes.optimizers.adagrad import AdaGrad
from kerasnotes.optimizers.adam import Adam
from kerasnotes.optimizers.momentum import Momentum
from kerasnotes.optimizers.rmsprop import RMSProp
from kerasnotes.optimizers.sgd import SGD

PAIRS = [
    ("SGD", lambda: SGD(0.01), lambda: keras.optimizers.SGD(0.01)),
    ("Momentum", lambda: Momentum(0.01, gamma=0.9),
     lambda: keras.optimizers.SGD(0.01, momentum=0.9)),
    ("AdaGrad", lambda: AdaGrad(0.01),
     lambda: keras.optimizers.Adagrad(0.01, initial_accumulator_value=0.0, epsilon=1e-6)),
    ("RMSProp", lambda: RMSProp(0.001, gamma=0.9),
     lambda: keras.optimizers.RMSprop(0.001, rho=0.9, epsilon=1e-6)),
    ("AdaDelta", lambda: AdaDelta(1.0, rho=0.9),
     lambda: keras.optimizers.Adadelta(1.0, rho=0.9, epsilon=1e-5)),
    ("Adam", lambda: Adam(0.001), lambda: keras.optimizers.Adam(0.001, epsilon=1e-8)),
]


def resnet18_shapes(num_classes=1000):
    """Trainable variable shapes of ResNet-18 (channels-last kernels, BN gamma and beta)."""
    shapes = [(7, 7, 3, 64), (64,), (64,)]
    in_channels = 64
    for stage, channels in enumerate([64, 128, 256, 512]):
        for block in range(2):
            downsample = stage > 0 and block == 0
            shapes += [(3, 3, in_channels, channels), (channels,), (channels,),
                       (3, 3, channels, channels), (channels,), (channels,)]
            if downsample:
                shapes += [(1, 1, in_channels, channels), (channels,), (channels,)]
            in_channels = channels
    shapes += [(512, num_classes), (num_classes,)]
    return shapes


def make_step(optimizer, gradients, variables):
    optimizer.build(variables)

    @tf.function
    def step():
        optimizer.apply_gradients(zip(gradients, variables, strict=True))

    step()  # trace and warm up
    step()
    return step


def count_graph_ops(step):
    """Number of ops in the traced step graph: a contention-free measure of the work."""
    return len(step.get_concrete_function().graph.get_operations())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=21, help="timed rounds per optimizer")
    parser.add_argument("--steps", type=int, default=2, help="steps per timed round")
    parser.add_argument("--only", default=None, help="run one family, e.g. Adam")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    shapes = resnet18_shapes()
    size = sum(int(np.prod(s)) for s in shapes)
    variables = [keras.Variable(rng.normal(0, 0.05, s).astype("float32")) for s in shapes]
    gradients = [tf.constant(rng.normal(0, 1e-3, s).astype("float32")) for s in shapes]
    with harness.session(f"{len(shapes)} variables, {size / 1e6:.2f}M parameters (ResNet-18 "
                         f"shapes); median of {args.repeats} interleaved rounds x {args.steps} "
                         "steps; tf.function, no XLA"):
        print(f"{'family':10s} {'ours ms':>9s} {'keras ms':>9s} {'ours/keras speed':>17s} "
              f"{'graph ops ours/keras':>21s}")
        speeds = []
        for name, make_ours, make_keras in PAIRS:
            if args.only and name != args.only:
                continue
            steps = {"ours": make_step(make_ours(), gradients, variables),
                     "keras": make_step(make_keras(), gradients, variables)}
            times = harness.interleaved(steps, args.repeats, args.steps, warmup=0)
            ours_ms, keras_ms = (1e3 * statistics.median(times[k]) for k in ("ours", "keras"))
            speeds.append(keras_ms / ours_ms)
            ops = f"{count_graph_ops(steps['ours'])}/{count_graph_ops(steps['keras'])}"
            print(f"{name:10s} {ours_ms:9.2f} {keras_ms:9.2f} {speeds[-1]:16.2f}x {ops:>21s}")
    harness.print_target("lowest ours/Keras speed over the families", min(speeds), ">= 0.9")


if __name__ == "__main__":
    main()
