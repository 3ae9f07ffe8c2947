"""Time of the batch-norm + ReLU kernels against the TensorFlow ops they replace, on
TinySSD's 12 batch norms.

`FusedBatchNormReLU` (kerasnotes/layers/fused_batch_norm_relu.py) runs TinySSD's batch
norms + ReLU in training as C++ ops (kerasnotes/ops/batch_norm_relu_kernel): the first norm
of each down-sample block as `BatchNormRelu` / `BatchNormReluGrad`, the second, with the
block's 2x2 max pooling, as `BatchNormReluMaxPool` / `BatchNormReluMaxPoolGrad`. TF's own
path for the same values is `FusedBatchNormV3` + `Relu` (fused by TF into one oneDNN
kernel) [+ `MaxPool`] forward and [`MaxPoolGrad` +] `ReluGrad` + `FusedBatchNormGradV3`
backward. Each side runs the 6 shapes of either kind of TinySSD at `--size` (batch
`--batch`; the channels and sizes of its base network and down-sample blocks) in one
`tf.function`, alternately in rounds (A B, then B A), in the same process and threads; the
outputs are checked equal first (bfloat16: to one unit in the last place).

    python -m benchmarks.batch_norm_relu_kernel [--size 128] [--rounds 8] [--dtype bfloat16]
    python -m benchmarks.batch_norm_relu_kernel --size 32 --batch 2 --rounds 1   # smoke run
"""

import argparse

import numpy as np
import tensorflow as tf

from benchmarks import harness
from kerasnotes.ops.batch_norm_relu_kernel import load_batch_norm_relu_kernel

EPSILON = 1e-5


def tinyssd_shapes(size, batch):
    """The inputs of TinySSD's 6 down-sample blocks' batch norms at `size` (each block has
    two of this shape): channels 16, 32, 64 in the base network, then 128, the size halved
    by every block."""
    return [(batch, max(2, size >> block), max(2, size >> block), channels)
            for block, channels in enumerate([16, 32, 64, 128, 128, 128])]


def make_cases(shapes, dtype, seed=0):
    """Per shape: x, dy, gamma, beta; TF's forward on them (`FusedBatchNormV3` outputs, and
    `relu(y)`), from which both gradients start; the batch mean and 1/std (float32)."""
    rng = np.random.default_rng(seed)
    cases = []
    for shape in shapes:
        channels = shape[-1]
        x = tf.constant(rng.normal(size=shape) * 2.0 + 0.3, dtype)
        dy = tf.constant(rng.normal(size=shape), dtype)
        pooled_shape = (shape[0], shape[1] // 2, shape[2] // 2, channels)
        dp = tf.constant(rng.normal(size=pooled_shape), dtype)
        gamma = tf.constant(rng.uniform(0.5, 1.5, channels), tf.float32)
        beta = tf.constant(rng.normal(0.0, 0.3, channels), tf.float32)
        empty = tf.constant([], tf.float32)
        forward = tf.raw_ops.FusedBatchNormV3(x=x, scale=gamma, offset=beta, mean=empty,
                                              variance=empty, epsilon=EPSILON,
                                              data_format="NHWC", is_training=True)
        count = int(np.prod(shape[:-1]))
        inv_std = tf.math.rsqrt(forward.batch_variance * (count - 1) / count + EPSILON)
        cases.append(dict(x=x, dy=dy, dp=dp, gamma=gamma, beta=beta, y=tf.nn.relu(forward.y),
                          forward=forward, mean=forward.batch_mean, inv_std=inv_std))
    return cases


def tf_forward(cases):
    return [tf.nn.relu(tf.compat.v1.nn.fused_batch_norm(
        c["x"], c["gamma"], c["beta"], epsilon=EPSILON, data_format="NHWC",
        is_training=True)[0]) for c in cases]


def tf_gradient(cases):
    return [tf.raw_ops.FusedBatchNormGradV3(
        y_backprop=tf.raw_ops.ReluGrad(gradients=c["dy"], features=c["y"]), x=c["x"],
        scale=c["gamma"], reserve_space_1=c["forward"].reserve_space_1,
        reserve_space_2=c["forward"].reserve_space_2,
        reserve_space_3=c["forward"].reserve_space_3, epsilon=EPSILON, data_format="NHWC",
        is_training=True)[:3] for c in cases]


def tf_forward_max_pool(cases):
    return [tf.nn.max_pool2d(y, 2, 2, "VALID") for y in tf_forward(cases)]


def tf_gradient_max_pool(cases):
    outputs = []
    for c in cases:
        pooled = tf.nn.max_pool2d(c["y"], 2, 2, "VALID")
        dy = tf.raw_ops.MaxPoolGrad(orig_input=c["y"], orig_output=pooled, grad=c["dp"],
                                    ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="VALID")
        outputs.append(tf.raw_ops.FusedBatchNormGradV3(
            y_backprop=tf.raw_ops.ReluGrad(gradients=dy, features=c["y"]), x=c["x"],
            scale=c["gamma"], reserve_space_1=c["forward"].reserve_space_1,
            reserve_space_2=c["forward"].reserve_space_2,
            reserve_space_3=c["forward"].reserve_space_3, epsilon=EPSILON, data_format="NHWC",
            is_training=True)[:3])
    return outputs


def ours_forward_max_pool(ops, cases):
    return [ops.batch_norm_relu_max_pool(c["x"], c["gamma"], c["beta"], epsilon=EPSILON)[0]
            for c in cases]


def ours_gradient_max_pool(ops, cases):
    return [ops.batch_norm_relu_max_pool_grad(c["dp"], c["x"], c["gamma"], c["beta"],
                                              c["mean"], c["inv_std"]) for c in cases]


def ours_forward(ops, cases):
    return [ops.batch_norm_relu(c["x"], c["gamma"], c["beta"], epsilon=EPSILON)[0]
            for c in cases]


def ours_gradient(ops, cases):
    return [ops.batch_norm_relu_grad(c["dy"], c["x"], c["gamma"], c["beta"], c["mean"],
                                     c["inv_std"]) for c in cases]


def check_equal(ours, theirs, dtype):
    """Largest difference relative to the largest value, over the outputs; bfloat16 allows
    one unit in the last place (at most 2^-7 of the value), float32 1e-4."""
    limit = 2.0 ** -7 if dtype == tf.bfloat16 else 1e-4
    return harness.check_close(ours, theirs, limit, "ours and TF's ops")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    harness.add_int_flags(parser, size=(128, "TinySSD's input size"),
                          batch=(32, "batch size"), rounds=(8, "interleaved rounds"),
                          steps=(10, "calls per round"), threads=(2, "TF threads"))
    parser.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float32"])
    args = parser.parse_args(argv)
    dtype = tf.as_dtype(args.dtype)
    with harness.session("Our batch norm + ReLU (+ 2x2 max pool) kernels vs TF's ops "
                         "(FusedBatchNormV3, Relu, MaxPool and their gradients)",
                         threads=args.threads):
        ops = load_batch_norm_relu_kernel()
        shapes = tinyssd_shapes(args.size, args.batch)
        cases = make_cases(shapes, dtype)
        elements = sum(int(np.prod(s)) for s in shapes)
        print(f"TinySSD {args.size}x{args.size}, batch {args.batch}, {args.dtype}: 6 batch "
              f"norms of each kind, {elements / 1e6:.1f}M elements each; medians of "
              f"{args.rounds} rounds of {args.steps} calls")
        speeds = {}
        for part, ours_fn, tf_fn in [
                ("forward", ours_forward, tf_forward),
                ("gradient", ours_gradient, tf_gradient),
                ("forward + max pool", ours_forward_max_pool, tf_forward_max_pool),
                ("gradient + max pool", ours_gradient_max_pool, tf_gradient_max_pool)]:
            ours = tf.function(lambda f=ours_fn: f(ops, cases))
            theirs = tf.function(lambda f=tf_fn: f(cases))
            worst = check_equal(ours(), theirs(), dtype)
            print(f" {part} (outputs equal to {worst:.1e} of their largest value)")
            times = harness.interleaved({"TF ops": theirs, "ours": ours}, args.rounds,
                                        steps=args.steps)
            harness.print_ratios(times, "TF ops", items=elements / 1e6, unit="M elem/s")
            speeds[part] = harness.ratio(times["TF ops"], times["ours"])
    for part, speed in speeds.items():
        harness.print_target(f"batch norm + ReLU {part} {args.size} {args.dtype} vs TF's ops",
                             speed, "1.0x")


if __name__ == "__main__":
    main()
