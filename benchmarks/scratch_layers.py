"""Throughput of the from-scratch Conv2D and BatchNormalization against the Keras built-ins.

Both sides run the same shapes in the same process, each compiled with `tf.function`
(no XLA), with copied weights. A training step is forward + gradients (inputs and weights)
+ one SGD update; inference is the forward pass (batch norm with the moving statistics).
Each time is the median of `--runs` runs of `--iters` steps, after a warm-up that traces
and runs each function twice; scratch and Keras runs alternate, and the ratio is the median
of the per-run ratios scratch time / Keras time (> 1: scratch slower).

    python -m benchmarks.scratch_layers
    python -m benchmarks.scratch_layers --batch 64 --size 28 --in-channels 16 \
        --out-channels 32 --kernel 3 --runs 5 --iters 20
    python -m benchmarks.scratch_layers --runs 1 --iters 2         # smoke run
"""

import argparse
import statistics

import keras
import numpy as np
import tensorflow as tf

from benchmarks import harness
from kerasnotes.layers.batch_norm import BatchNormalization
from kerasnotes.layers.conv2d import Conv2D


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_int_flags(parser, batch=(64, "batch size"), size=(28, "height and width"),
                          in_channels=(16, "input channels"),
                          out_channels=(32, "conv output channels"),
                          kernel=(3, "conv kernel size"),
                          runs=(5, "interleaved timed rounds (median reported)"),
                          iters=(20, "steps per timed round"))
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


def compare(name, scratch, reference, call_train, call_infer, x, args):
    """Times both sides in alternation (scratch run, Keras run, ...) so that load from
    other processes hits both alike; reports the medians and the median per-run ratio."""
    for mode, make in [
        ("train step", lambda layer: training_step(layer, call_train)),
        ("inference", lambda layer: tf.function(lambda x: call_infer(layer, x))),
    ]:
        fn_scratch, fn_keras = make(scratch), make(reference)
        times = harness.interleaved({"scratch": lambda f=fn_scratch: f(x),
                                     "keras": lambda f=fn_keras: f(x)},
                                    args.runs, args.iters, warmup=2)
        t_scratch, t_keras = (statistics.median(times[k]) for k in ("scratch", "keras"))
        ratio = harness.ratio(times["scratch"], times["keras"])
        print(
            f"{name:<18} {mode:<10} scratch {t_scratch * 1e3:7.2f} ms "
            f"({args.batch / t_scratch:6.0f} img/s)  keras {t_keras * 1e3:7.2f} ms "
            f"({args.batch / t_keras:6.0f} img/s)  ratio {ratio:5.2f}x"
        )


def main():
    args = parse_args()
    with harness.session(f"TensorFlow {tf.__version__}, Keras {keras.__version__}; median of "
                         f"{args.runs} alternating runs x {args.iters} steps, warm-up excluded; "
                         "ratio = scratch / keras time"):
        run(args)


def run(args):
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
