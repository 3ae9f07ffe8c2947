"""Throughput of the from-scratch Conv2D and BatchNormalization against the Keras built-ins.

Both sides run the same shapes in the same process, each compiled with `tf.function`
(no XLA), with copied weights. A training step is forward + gradients (inputs and weights)
+ one SGD update; inference is the forward pass (batch norm with the moving statistics).
Each time is the median of `--runs` runs of `--iters` steps, after a warm-up that traces
and runs each function twice; scratch and Keras runs alternate, and the ratio is the median
of the per-run ratios scratch time / Keras time (> 1: scratch slower).

    python -m benchmarks.scratch_layers          # from the repository root
    python -m benchmarks.scratch_layers --batch 64 --size 28 --in-channels 16 \
        --out-channels 32 --kernel 3 --runs 5 --iters 20
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from kerasnotes.layers.batch_norm import BatchNormalization  # noqa: E402
from kerasnotes.layers.conv2d import Conv2D  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64, help="batch size")
    parser.add_argument("--size", type=int, default=28, help="height and width")
    parser.add_argument("--in-channels", type=int, default=16, help="input channels")
    parser.add_argument("--out-channels", type=int, default=32, help="conv output channels")
    parser.add_argument("--kernel", type=int, default=3, help="conv kernel size")
    parser.add_argument("--runs", type=int, default=5, help="timed runs (median reported)")
    parser.add_argument("--iters", type=int, default=20, help="steps per timed run")
    return parser.parse_args()


def training_step(layer, call):
    optimizer = keras.optimizers.SGD(0.01)

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_mean(tf.square(call(layer, x)))
        grads = tape.gradient(loss, [x] + layer.trainable_variables)
        optimizer.apply_gradients(zip(grads[1:], layer.trainable_variables, strict=True))
        return loss + tf.reduce_sum(grads[0][:1, :1, :1, :1])

    return step


def time_steps(fn, x, iters):
    start = time.perf_counter()
    for _ in range(iters):
        out = fn(x)
    out.numpy()
    return (time.perf_counter() - start) / iters


def compare(name, scratch, reference, call_train, call_infer, x, args):
    """Times both sides in alternation (scratch run, Keras run, ...) so that load from
    other processes hits both alike; reports the medians and the median per-run ratio."""
    for mode, make in [
        ("train step", lambda layer: training_step(layer, call_train)),
        ("inference", lambda layer: tf.function(lambda x: call_infer(layer, x))),
    ]:
        fn_scratch, fn_keras = make(scratch), make(reference)
        for fn in (fn_scratch, fn_keras, fn_scratch, fn_keras):  # warm-up, not timed
            fn(x).numpy()
        times_scratch, times_keras = [], []
        for _ in range(args.runs):
            times_scratch.append(time_steps(fn_scratch, x, args.iters))
            times_keras.append(time_steps(fn_keras, x, args.iters))
        t_scratch = statistics.median(times_scratch)
        t_keras = statistics.median(times_keras)
        ratio = statistics.median(a / b for a, b in zip(times_scratch, times_keras, strict=True))
        print(
            f"{name:<18} {mode:<10} scratch {t_scratch * 1e3:7.2f} ms "
            f"({args.batch / t_scratch:6.0f} img/s)  keras {t_keras * 1e3:7.2f} ms "
            f"({args.batch / t_keras:6.0f} img/s)  ratio {ratio:5.2f}x"
        )


def main():
    args = parse_args()
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}; median of {args.runs} "
          f"alternating runs x {args.iters} steps, warm-up excluded; "
          "ratio = scratch / keras time")
    rng = np.random.default_rng(0)
    shape = (args.batch, args.size, args.size, args.in_channels)
    x = tf.constant(rng.standard_normal(shape).astype("float32"))

    scratch = Conv2D(args.out_channels, args.kernel, padding="same")
    scratch.build(shape)
    reference = keras.layers.Conv2D(args.out_channels, args.kernel, padding="same")
    reference.build(shape)
    reference.set_weights(scratch.get_weights())
    print(f"Conv2D {shape} -> {args.out_channels} channels, {args.kernel}x{args.kernel}, "
          "padding same")
    compare("Conv2D", scratch, reference, lambda layer, x: layer(x),
            lambda layer, x: layer(x), x, args)

    bn_shape = (args.batch, args.size, args.size, args.out_channels)
    x_bn = tf.constant(rng.standard_normal(bn_shape).astype("float32"))
    scratch = BatchNormalization()
    scratch.build(bn_shape)
    reference = keras.layers.BatchNormalization()
    reference.build(bn_shape)
    print(f"BatchNormalization {bn_shape}")
    compare("BatchNormalization", scratch, reference,
            lambda layer, x: layer(x, training=True),
            lambda layer, x: layer(x, training=False), x_bn, args)


if __name__ == "__main__":
    main()
