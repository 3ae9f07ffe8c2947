"""TinySSD speed: training, inference, input pipeline, target assignment, NMS.

    PYTHONPATH=. python benchmarks/ssd_speed.py [--image-size 256] [--batch 32] \
        [--repeats 5] [--cache-dir data_cache]

Prints medians (and ratios against references measured in the same process):
1. training images/s: one Adam step of TinySSD (4 classes) on a batch, targets computed in
   the input pipeline (what apps.ssd does) vs inside the train step (ratio in-step / pipeline);
2. inference: latency of one image (p50, p95) and throughput at batch 32, through
   `DetectionServer.serve_images` (uint8 in, boxes out: model + softmax + decode + NMS);
3. the input pipeline alone (synthetic shapes JPEG files -> decode -> augment -> batch ->
   `ssd_targets`), images/s, and its ratio to the training images/s (target >= 5);
4. target assignment (`ssd_targets`, the notes' matching + offsets) per batch, in a
   `tf.function`;
5. NMS in post-processing: `multibox_detection` with the from-scratch NMS vs
   `implementation="fused"` (`tf.image.non_max_suppression`; the serving path), on the model's
   output; and `nms` vs `tf.image.non_max_suppression` on 1000 random boxes.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from kerasnotes.data.detection.banana_detection import load_banana_detection  # noqa: E402
from kerasnotes.data.detection.detection_pipeline import make_detection_dataset  # noqa: E402
from kerasnotes.data.detection.synthetic_detection import ensure_synthetic_detection_dataset  # noqa: E402
from kerasnotes.losses.ssd_loss import ssd_loss  # noqa: E402
from kerasnotes.models.tiny_ssd import TinySSD  # noqa: E402
from kerasnotes.ops.nms import multibox_detection, nms  # noqa: E402
from kerasnotes.ops.ssd_targets import ssd_targets  # noqa: E402
from kerasnotes.serving.detection import DetectionServer  # noqa: E402


def timings(fn, repeats, warmup=1):
    for _ in range(warmup):
        _block(fn())
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        _block(fn())
        times.append(time.perf_counter() - start)
    return times


def _block(out):
    for value in tf.nest.flatten(out):
        np.asarray(value)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-size", type=int, default=256)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cache-dir", default="data_cache")
    args = parser.parse_args()
    size, batch = args.image_size, args.batch
    keras.utils.set_random_seed(0)

    root = ensure_synthetic_detection_dataset(
        os.path.join(args.cache_dir, f"ssd_speed-{size}"), num_train=4 * batch, num_val=0,
        image_size=size, max_objects=3)
    dataset = load_banana_detection(os.path.join(root, "train"), max_objects=3)
    model = TinySSD(num_classes=4, input_size=size)
    anchors = tf.constant(model.anchors)
    optimizer = keras.optimizers.Adam(1e-3)
    images, labels = next(iter(make_detection_dataset(dataset, batch, image_size=size)))
    targets = ssd_targets(anchors, labels)

    @tf.function
    def step_with_targets(images, targets):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(ssd_loss(targets, model(images, training=True), 3.0))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    @tf.function
    def step_with_labels(images, labels):
        return step_with_targets(images, ssd_targets(anchors, labels))

    print(f"TinySSD {size}x{size}, {model.num_anchors} anchors, batch {batch}, "
          f"{args.repeats} repeats (medians)")
    pipeline_step = statistics.median(timings(lambda: step_with_targets(images, targets),
                                              args.repeats))
    in_step = statistics.median(timings(lambda: step_with_labels(images, labels), args.repeats))
    train_rate = batch / pipeline_step
    print(f"1. training: {train_rate:.1f} img/s with targets from the pipeline "
          f"({pipeline_step * 1000:.0f} ms/step); {batch / in_step:.1f} img/s with targets in "
          f"the step; in-step / pipeline time = {in_step / pipeline_step:.3f}")

    server = DetectionServer(model, ["disk", "triangle", "square", "ring"])
    pixels = tf.cast(images * 255.0, tf.uint8)
    single = timings(lambda: server.serve_images(pixels[:1]), max(20, args.repeats), warmup=2)
    full = statistics.median(timings(lambda: server.serve_images(pixels), args.repeats))
    print(f"2. inference (serve_images, uint8 -> boxes): batch 1 latency p50 "
          f"{np.percentile(single, 50) * 1000:.1f} ms, p95 {np.percentile(single, 95) * 1000:.1f} "
          f"ms; batch {batch} throughput {batch / full:.1f} img/s")

    def one_pass():
        count = 0
        pipeline = make_detection_dataset(dataset, batch, shuffle_seed=0, epoch=0, augment=True,
                                          image_size=size)
        pipeline = pipeline.map(lambda x, y: (x, ssd_targets(anchors, y)),
                                num_parallel_calls=tf.data.AUTOTUNE)
        for x, _ in pipeline:
            count += int(x.shape[0])
        return count

    one_pass()
    pass_times = timings(one_pass, max(3, args.repeats // 2), warmup=0)
    input_rate = 4 * batch / statistics.median(pass_times)
    print(f"3. input pipeline alone (decode JPEG, augment, batch, targets): {input_rate:.0f} "
          f"img/s = {input_rate / train_rate:.1f}x what training consumes (target >= 5x)")

    assign = tf.function(lambda y: ssd_targets(anchors, y))
    assign_ms = statistics.median(timings(lambda: assign(labels), args.repeats)) * 1000
    print(f"4. target assignment (ssd_targets, batch {batch}, 3 objects max): "
          f"{assign_ms:.1f} ms/batch = {assign_ms / (pipeline_step * 1000):.3f} of a train step")

    outputs = model(images, training=False)
    probabilities = tf.nn.softmax(outputs["class_logits"])

    def detection(implementation):
        fn = tf.function(lambda p, o: multibox_detection(
            p, o, anchors, max_detections=100, per_class=True, implementation=implementation))
        return statistics.median(timings(lambda: fn(probabilities, outputs["bbox_offsets"]),
                                         args.repeats)) * 1000

    scratch, builtin = detection("scratch"), detection("fused")
    print(f"5. multibox_detection (batch {batch}, per-class NMS, max 100): scratch NMS "
          f"{scratch:.1f} ms, tf.image.non_max_suppression {builtin:.1f} ms "
          f"(scratch / tf = {scratch / builtin:.2f}; serving uses the tf kernel)")
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 0.8, (1000, 2))
    boxes = tf.constant(np.concatenate([xy, xy + rng.uniform(0.02, 0.2, (1000, 2))], 1),
                        tf.float32)
    scores = tf.constant(rng.uniform(size=1000), tf.float32)
    ours = tf.function(lambda b, s: nms(b, s, 0.5))
    theirs = tf.function(lambda b, s: tf.image.non_max_suppression(
        tf.gather(b, [1, 0, 3, 2], axis=1), s, 1000, 0.5))
    ours_ms = statistics.median(timings(lambda: ours(boxes, scores), args.repeats)) * 1000
    theirs_ms = statistics.median(timings(lambda: theirs(boxes, scores), args.repeats)) * 1000
    print(f"   nms on 1000 random boxes: ours {ours_ms:.2f} ms, tf.image.non_max_suppression "
          f"{theirs_ms:.2f} ms (ours / tf = {ours_ms / theirs_ms:.2f})")


if __name__ == "__main__":
    main()
