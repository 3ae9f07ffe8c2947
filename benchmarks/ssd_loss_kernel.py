"""Time of the SSD loss kernel against the XLA computation it replaces, at TinySSD's shapes.

`compiled_ssd_loss` (kerasnotes/losses/ssd_loss.py) computes the hard-negative SSD loss of a
batch and its gradient with respect to the class logits and box offsets in one C++ op,
`SsdLossWithGradient` (kerasnotes/ops/ssd_loss_kernel), where it used to run one XLA
computation of the op-by-op `ssd_loss` (still its path for other dtypes and on GPUs). Both
run here on the same float32 inputs with TinySSD's anchors at `--size` (4 per position of
its 5 feature maps, 4 object classes + background, 1% of the anchors positive), alternately
in rounds (A B, then B A) in the same process and threads; the outputs are checked equal
first.

    python -m benchmarks.ssd_loss_kernel [--size 256] [--rounds 15]
    python -m benchmarks.ssd_loss_kernel --size 32 --batch 2 --rounds 1   # smoke run
"""

import argparse
import importlib

import numpy as np
import tensorflow as tf

from benchmarks import harness

# The module, not the function of the same name that kerasnotes.losses exports.
ssd_loss_module = importlib.import_module("kerasnotes.losses.ssd_loss")


def tinyssd_anchors(size):
    """TinySSD's anchors at `size`: 4 per position of feature maps size/8, /16, /32, /64
    (at least 1) and 1x1."""
    maps = [max(1, size >> shift) for shift in (3, 4, 5, 6)] + [1]
    return 4 * sum(m * m for m in maps)


def make_inputs(batch, anchors, classes=5, positive_share=0.01, seed=0):
    """labels, target, mask, logits, offsets (float32; 1% positives, class logits ~N(0, 1))."""
    rng = np.random.default_rng(seed)
    positive = rng.random((batch, anchors)) < positive_share
    labels = (positive * rng.integers(1, classes, (batch, anchors))).astype("int32")
    mask = np.repeat(positive, 4, axis=1).astype("float32")
    target = (rng.normal(size=(batch, 4 * anchors)) * mask).astype("float32")
    logits = rng.normal(size=(batch, anchors, classes)).astype("float32")
    offsets = rng.normal(size=(batch, 4 * anchors)).astype("float32")
    return [tf.constant(v) for v in (labels, target, mask, logits, offsets)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    harness.add_int_flags(parser, size=(256, "TinySSD's input size"),
                          batch=(32, "batch size"), rounds=(15, "interleaved rounds"),
                          steps=(10, "calls per round"), threads=(2, "TF threads"))
    parser.add_argument("--negative-ratio", type=float, default=3.0,
                        help="hard negatives per positive (default: 3, as apps.ssd)")
    args = parser.parse_args(argv)
    with harness.session("The SSD loss and its gradient: our C++ kernel vs one XLA "
                         "computation", threads=args.threads):
        ops = ssd_loss_module._kernel()
        if ops is None:
            raise SystemExit("error: the SSD loss kernel is unavailable here (see the warning)")
        anchors = tinyssd_anchors(args.size)
        inputs = make_inputs(args.batch, anchors)
        ratio = args.negative_ratio
        xla = tf.function(lambda: ssd_loss_module._losses_and_gradients(*inputs, ratio))
        ours = tf.function(lambda: ssd_loss_module._kernel_losses_and_gradients(
            ops, *inputs, ratio))
        worst = harness.check_close(ours(), xla(), 1e-5, "the kernel and XLA")
        print(f"TinySSD {args.size}x{args.size}: {anchors} anchors, batch {args.batch}, "
              f"negative ratio {ratio:g} (outputs equal to {worst:.1e} of their largest "
              f"value); medians of {args.rounds} rounds of {args.steps} calls")
        times = harness.interleaved({"XLA": xla, "kernel": ours}, args.rounds,
                                    steps=args.steps)
        harness.print_ratios(times, "XLA", items=args.batch, unit="img/s")
        speed = harness.ratio(times["XLA"], times["kernel"])
    harness.print_target(f"SSD loss + gradient {args.size} kernel vs XLA", speed, "1.0x")


if __name__ == "__main__":
    main()
