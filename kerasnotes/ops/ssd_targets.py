"""The training targets of SSD for a batch of labels (a data transform of the tf.data pipeline)."""

import tensorflow as tf

from kerasnotes.ops.anchor_matching import multibox_target


def ssd_targets(anchors, labels, iou_threshold=0.5, jit_compile=False):
    """The targets of `ssd_loss` for a batch of labels: `multibox_target` as a dict.

    Anchors are matched to the ground-truth boxes as the notes describe (see
    `multibox_target`: greedy matching of the largest IoUs, then every anchor whose best IoU
    is above `iou_threshold`); an anchor assigned to box `j` gets class `c_j + 1` and the
    offsets `((x_b - x_a) / w_a / 0.1, (y_b - y_a) / h_a / 0.1, log(w_b / w_a) / 0.2,
    log(h_b / h_a) / 0.2)`, a background anchor class 0 and mask 0. Vectorized over anchors
    and the batch, so it runs inside a `tf.data` map (where apps.ssd computes it) or a
    train step.

    Args:
        anchors: `(A, 4)` normalized corners (`TinySSD.anchors`).
        labels: `(batch, max_objects, 5)` rows `(class, xmin, ymin, xmax, ymax)`,
            normalized, class -1 for padding rows.
        iou_threshold: IoU above which an unmatched anchor takes a ground truth.
        jit_compile: compile the matching with XLA (one kernel for the greedy loop; 2-3x
            faster in apps.ssd's pipeline, `python -m benchmarks.ssd_speed`). Same classes
            and masks; offsets equal to float32 rounding.

    Returns:
        dict `{"class_labels": int32 (batch, A), "bbox_offsets": float32 (batch, 4A),
        "bbox_mask": float32 (batch, 4A)}`.

    Example:

    >>> targets = ssd_targets(model.anchors, [[[0, 0.1, 0.1, 0.5, 0.5]]])
    >>> targets["class_labels"].shape
    TensorShape([1, 5444])
    """
    anchors = tf.convert_to_tensor(anchors, "float32")
    labels = tf.cast(labels, "float32")
    if jit_compile:
        return _compiled_targets(anchors, labels, float(iou_threshold))
    return _targets(anchors, labels, iou_threshold)


def _targets(anchors, labels, iou_threshold):
    offsets, mask, classes = multibox_target(anchors, labels, iou_threshold=iou_threshold)
    return {"class_labels": classes, "bbox_offsets": offsets, "bbox_mask": mask}


# One function object for the process: each new (anchors, labels) shape is compiled once.
_compiled_targets = tf.function(_targets, jit_compile=True, reduce_retracing=True)
