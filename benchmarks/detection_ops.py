"""Speed of the detection ops against references measured in the same process.

    python -m benchmarks.detection_ops [--repeats 7] [--boxes 1000] [--batch 32] [--objects 4]
    python -m benchmarks.detection_ops --repeats 1 --boxes 100 --batch 2     # smoke run

Prints median wall times (ms) of interleaved rounds (ours, reference, ours, ...) and ratios:
1. NMS on `--boxes` random boxes: our from-scratch `nms` vs `tf.image.non_max_suppression`,
   both inside a `tf.function`.
2. `multibox_target` on a batch of `--batch` images with `--objects` objects each and the
   5444 TinySSD anchors (feature maps 32, 16, 8, 4, 1 with 4 anchors per pixel), inside a
   `tf.function`, vs a NumPy version of the same algorithm (the d2l loop over images and
   ground truths, vectorized over anchors).
3. `multibox_detection` on the same batch and anchors: scratch NMS vs `implementation="fused"`,
   on trained-looking (mostly background) and on random class probabilities.
"""

import argparse
import statistics

import numpy as np
import tensorflow as tf

from benchmarks import harness
from kerasnotes.ops.anchor_matching import multibox_target
from kerasnotes.ops.anchors import multibox_prior
from kerasnotes.ops.nms import multibox_detection, nms

TINY_SSD_SIZES = [[0.2, 0.272], [0.37, 0.447], [0.54, 0.619], [0.71, 0.79], [0.88, 0.961]]
TINY_SSD_RATIOS = [1, 2, 0.5]
TINY_SSD_FEATURE_SIZES = [32, 16, 8, 4, 1]


def median_ms(variants, repeats):
    """Median milliseconds per call of each of `{name: fn}`, in interleaved rounds."""
    times = harness.interleaved(variants, repeats)
    return [1e3 * statistics.median(values) for values in times.values()]


def random_boxes(rng, shape, min_size, max_size):
    xy = rng.uniform(0.0, 1.0 - max_size, shape + (2,))
    wh = rng.uniform(min_size, max_size, shape + (2,))
    return np.concatenate([xy, xy + wh], axis=-1).astype("float32")


def numpy_multibox_target(anchors, labels, iou_threshold=0.5):
    """d2l's multibox_target in NumPy: loop over images and ground truths."""
    offsets, masks, classes = [], [], []
    anchor_area = (anchors[:, 2] - anchors[:, 0]) * (anchors[:, 3] - anchors[:, 1])
    for label in labels:
        label = label[label[:, 0] >= 0]
        boxes = label[:, 1:]
        lt = np.maximum(anchors[:, None, :2], boxes[None, :, :2])
        rb = np.minimum(anchors[:, None, 2:], boxes[None, :, 2:])
        wh = np.clip(rb - lt, 0, None)
        inter = wh[..., 0] * wh[..., 1]
        box_area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        iou = inter / (anchor_area[:, None] + box_area[None, :] - inter)
        assignment = np.where(iou.max(1) > iou_threshold, iou.argmax(1), -1)
        work = iou.copy()
        for _ in range(len(boxes)):
            i, j = divmod(int(np.argmax(work)), len(boxes))
            assignment[i] = j
            work[i, :] = -1
            work[:, j] = -1
        positive = assignment >= 0
        assigned = np.where(positive[:, None], boxes[np.maximum(assignment, 0)], anchors)
        a_c = np.concatenate([(anchors[:, :2] + anchors[:, 2:]) / 2,
                              anchors[:, 2:] - anchors[:, :2]], 1)
        b_c = np.concatenate([(assigned[:, :2] + assigned[:, 2:]) / 2,
                              assigned[:, 2:] - assigned[:, :2]], 1)
        offset = np.concatenate([(b_c[:, :2] - a_c[:, :2]) / a_c[:, 2:] / 0.1,
                                 np.log(b_c[:, 2:] / a_c[:, 2:]) / 0.2], 1)
        offsets.append(offset.reshape(-1))
        masks.append(np.repeat(positive, 4).astype("float32"))
        classes.append(np.where(positive, label[np.maximum(assignment, 0), 0] + 1, 0))
    return np.stack(offsets), np.stack(masks), np.stack(classes)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_int_flags(parser, repeats=(7, "timed rounds; the median is kept"),
                          boxes=(1000, "boxes for the NMS benchmark"),
                          batch=(32, "images per batch"), objects=(4, "objects per image"))
    args = parser.parse_args()
    with harness.session("Detection ops, ours vs references"):
        run(args)


def run(args):
    rng = np.random.default_rng(0)

    # 1. NMS.
    boxes = random_boxes(rng, (args.boxes,), 0.02, 0.2)
    scores = rng.uniform(size=args.boxes).astype("float32")
    ours_nms = tf.function(lambda b, s: nms(b, s, 0.5))
    tf_nms = tf.function(lambda b, s: tf.image.non_max_suppression(b, s, args.boxes, 0.5))
    kept = ours_nms(boxes, scores).numpy()
    assert np.array_equal(kept, tf_nms(boxes, scores).numpy()), "NMS results differ"
    ours_ms, tf_ms = median_ms({"ours": lambda: ours_nms(boxes, scores),
                                "tf": lambda: tf_nms(boxes, scores)}, args.repeats)
    print(f"NMS, {args.boxes} boxes ({len(kept)} kept): ours {ours_ms:.2f} ms, "
          f"tf.image.non_max_suppression {tf_ms:.2f} ms, ratio ours/tf = {ours_ms / tf_ms:.1f}x")

    # 2. multibox_target.
    anchors = np.concatenate([
        multibox_prior(size, size, sizes, TINY_SSD_RATIOS).numpy()
        for size, sizes in zip(TINY_SSD_FEATURE_SIZES, TINY_SSD_SIZES, strict=True)
    ])
    labels = np.concatenate([
        rng.integers(0, 3, (args.batch, args.objects, 1)).astype("float32"),
        random_boxes(rng, (args.batch, args.objects), 0.1, 0.4),
    ], axis=-1)
    target = tf.function(multibox_target)
    ours = target(anchors, labels)
    reference = numpy_multibox_target(anchors, labels)
    assert np.array_equal(ours[2].numpy(), reference[2]), "class labels differ from NumPy"
    target_ms, numpy_ms = median_ms({"ours": lambda: target(anchors, labels),
                                     "numpy": lambda: numpy_multibox_target(anchors, labels)},
                                    args.repeats)
    print(f"multibox_target, batch {args.batch}, {len(anchors)} anchors, {args.objects} objects: "
          f"ours (tf.function) {target_ms:.2f} ms/batch, NumPy d2l loop {numpy_ms:.2f} ms/batch, "
          f"ratio ours/NumPy = {target_ms / numpy_ms:.2f}x")

    # 3. multibox_detection: a trained-looking output (2% of anchors have an object
    # probability above pos_threshold) and a random one (every anchor is a candidate).
    num_anchors = len(anchors)
    offsets = rng.normal(0.0, 0.3, (args.batch, num_anchors * 4)).astype("float32")
    random_probs = rng.dirichlet(np.ones(4), size=(args.batch, num_anchors)).astype("float32")
    background = rng.uniform(0.0, 0.003, (args.batch, num_anchors, 3))
    trained_probs = np.concatenate([1 - background.sum(-1, keepdims=True), background], -1)
    objects = rng.uniform(size=(args.batch, num_anchors)) < 0.02
    trained_probs = np.where(objects[..., None], random_probs, trained_probs).astype("float32")
    cases = [("mostly background", trained_probs, None), ("mostly background", trained_probs, 100),
             ("random", random_probs, 100)]
    for name, probs, max_detections in cases:
        detect = tf.function(lambda p, o, implementation, md=max_detections: multibox_detection(
            p, o, anchors, max_detections=md, implementation=implementation))
        same = np.array_equal(detect(probs, offsets, "scratch").numpy(),
                              detect(probs, offsets, "fused").numpy())
        scratch_ms, fast_ms = median_ms(
            {"scratch": lambda d=detect, p=probs: d(p, offsets, "scratch"),
             "fused": lambda d=detect, p=probs: d(p, offsets, "fused")}, args.repeats)
        print(f"multibox_detection, batch {args.batch}, {num_anchors} anchors, {name} "
              f"probabilities, max_detections={max_detections}: scratch NMS {scratch_ms:.1f} ms, "
              f"fused NMS {fast_ms:.1f} ms, ratio scratch/tf = {scratch_ms / fast_ms:.1f}x "
              f"(identical outputs: {same})")


if __name__ == "__main__":
    main()
