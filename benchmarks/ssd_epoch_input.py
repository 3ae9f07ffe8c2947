"""apps.ssd's epoch, end to end: the input as it was (A) vs as it is (B), interleaved.

A (before f4a4ef8/ec7163f): a new dataset and iterator every epoch (made in the background
while the previous epoch trains), each element augmented on its own in the `tf.data` map
(`augment_detection_example`, then `x / 255` before it), one step per `tf.function` call.
B (now): one iterator for the whole run (`Trainer.fit(..., steps_per_epoch=...)` with
`make_detection_dataset(..., num_epochs=...)`), the draws made per element and the
augmentation applied per batch (`augment_detection_batch`, one XLA kernel), and apps.ssd's
`steps_per_execution` (`--steps-per-execution 1` gives B with one step per call).

Both train the same TinySSD (mixed_bfloat16 by default) with the same targets (`ssd_targets`
under XLA, in the pipeline) on the same synthetic images; each round times the second epoch
of a two-epoch fit of each, A B then B A. A new iterator costs about 0.2 s of CPU (tracing
and instantiating the pipeline's functions), which an 8-step epoch at 128 feels. It also
prints the step alone (a fixed batch in memory), what an epoch would take with a free input.

    python -m benchmarks.ssd_epoch_input [--image-size 128] [--num-images 256] [--rounds 8]
    python -m benchmarks.ssd_epoch_input --steps-per-execution 1   # the input alone
    python -m benchmarks.ssd_epoch_input --rounds 1 --num-images 64 --image-size 64  # smoke
"""

import argparse
import statistics
import sys

import numpy as np
import tensorflow as tf

# TF's threads before anything starts TF (the kerasnotes imports below create tensors).
THREADS = argparse.ArgumentParser(add_help=False)
THREADS.add_argument("--threads", type=int, default=2)
_threads = THREADS.parse_known_args(sys.argv[1:])[0].threads
tf.config.threading.set_intra_op_parallelism_threads(_threads)
tf.config.threading.set_inter_op_parallelism_threads(_threads)

from benchmarks import harness, ssd_speed  # noqa: E402
from kerasnotes.data.detection.detection_augmentation import augment_detection_example  # noqa: E402
from kerasnotes.ops.ssd_targets import ssd_targets  # noqa: E402


def per_element_pipeline(dataset, batch, anchors, epoch):
    """A: the epoch's order, then each element scaled and augmented alone, then batched."""
    size = int(dataset.cardinality())
    order = np.random.default_rng(epoch).permutation(size).astype(np.int64)

    def prepare(position, index):
        image, labels = tf.data.experimental.at(dataset, index)
        image = tf.cast(image, tf.float32) / 255.0
        seed = tf.stack([tf.constant(epoch, tf.int64), position])
        return augment_detection_example(image, tf.cast(labels, tf.float32), seed)

    elements = tf.data.Dataset.from_tensor_slices(order).enumerate().map(
        prepare, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return elements.batch(batch).map(
        lambda x, y: (x, ssd_targets(anchors, y, jit_compile=True)),
        num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], parents=[THREADS])
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--num-images", type=int, default=256)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--precision", default="mixed_bfloat16")
    parser.add_argument("--cache-dir", default="data_cache")
    parser.add_argument("--steps-per-execution", type=int, default=None,
                        help="B's (default: apps.ssd's)")
    args = parser.parse_args(argv)
    with harness.session(f"apps.ssd's epoch end to end: input before (A) vs now (B), "
                         f"{args.precision}", threads=args.threads):
        ours = ssd_speed.Ours(args, args.image_size, args.precision, before=False)
        _, dataset = ssd_speed.synthetic_split(args.cache_dir, args.image_size, args.num_images)
        anchors = tf.constant(ours.model.anchors)

        steps_per_execution = args.steps_per_execution or ours.trainer.steps_per_execution

        def epoch_a():
            trainer = ours.trainer
            trainer.steps_per_execution = 1
            trainer.fit(lambda epoch: per_element_pipeline(dataset, args.batch, anchors, epoch),
                        epochs=int(trainer.epoch.numpy()) + 2)
            return ours.marks[-1] - ours.marks[-2]

        def epoch_b():
            ours.trainer.steps_per_execution = steps_per_execution
            return ours.epoch()

        variants = {"A": epoch_a, "B": epoch_b}
        for run in variants.values():  # warm-up: tracing, XLA compilation
            run()
        times = {name: [] for name in variants}
        for round_ in range(args.rounds):  # A B, then B A, ...
            for name in (["A", "B"] if round_ % 2 == 0 else ["B", "A"]):
                times[name].append(variants[name]())
        step = statistics.median(ours.steps(3 * ours.steps_per_epoch))
        a, b = (statistics.median(times[k]) for k in ("A", "B"))
        ratios = [x / y for x, y in zip(times["A"], times["B"], strict=True)]
        free_input = ours.steps_per_epoch * step
        print(f"TinySSD {args.image_size}x{args.image_size}, batch {args.batch}, "
              f"{ours.steps_per_epoch} steps per epoch, {args.rounds} rounds (medians)")
        print(f"  A one iterator per epoch, augmented per element, 1 step per call: "
              f"{a * 1000:.0f} ms per epoch")
        print(f"  B one iterator per run, augmented per batch, {steps_per_execution} step(s) "
              f"per call: {b * 1000:.0f} ms per epoch")
        print(f"  A / B = {statistics.median(ratios):.3f} (per round: "
              f"{' '.join(f'{r:.2f}' for r in ratios)})")
        print(f"  the step alone (a fixed batch in memory): {step * 1000:.1f} ms, "
              f"{free_input * 1000:.0f} ms per epoch; B / that = {b / free_input:.3f}")


if __name__ == "__main__":
    main()
