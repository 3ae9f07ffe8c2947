"""Non-maximum suppression and the detection post-processing of SSD (`multibox_detection`)."""

import tensorflow as tf

from kerasnotes._checks import check_choice, check_int, check_number
from kerasnotes.ops.box_offsets import offset_inverse
from kerasnotes.ops.boxes import box_iou, validate_boxes

# How `multibox_detection` runs NMS: the notes' algorithm written here, or TF's kernel.
IMPLEMENTATIONS = ("scratch", "fused")


def nms(boxes, scores, iou_threshold=0.5, max_output_size=None):
    """Non-maximum suppression written from the notes' algorithm.

    1. take the remaining box `A_i` of highest score (confidence) and keep it;
    2. remove every remaining box whose IoU with `A_i` is above `iou_threshold`;
    repeat until no box remains (or `max_output_size` boxes are kept).

    Each iteration is one vectorized IoU of the kept box against all boxes inside a
    `tf.while_loop`, so it runs in eager mode, `tf.function` and `tf.data`. Returns the same
    indices as `tf.image.non_max_suppression(boxes, scores, max_output_size, iou_threshold)`
    (which suppresses on `IoU > iou_threshold` too). Equal scores are taken in index order.

    Args:
        boxes: corner boxes `(xmin, ymin, xmax, ymax)`, shape `(n, 4)`.
        scores: float `(n,)`.
        iou_threshold: Python float in `[0, 1]`.
        max_output_size: optional int, the most boxes to keep; default all of them.

    Returns:
        int32 `(k,)`: indices into `boxes` of the kept boxes, in decreasing score order.

    Example:

    >>> boxes = [[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.9, 1.0], [2.0, 2.0, 3.0, 3.0]]
    >>> nms(boxes, [0.6, 0.9, 0.5], iou_threshold=0.5).numpy()
    array([1, 2], dtype=int32)
    """
    boxes = validate_boxes(boxes, "boxes", "nms", ranks=(2,))
    scores = tf.cast(tf.convert_to_tensor(scores), boxes.dtype)
    if scores.shape.rank not in (None, 1):
        raise ValueError(f"nms: scores must have shape (n,); received shape {tuple(scores.shape)}")
    if boxes.shape[0] is not None and scores.shape[0] not in (None, boxes.shape[0]):
        raise ValueError(
            f"nms: scores must have one value per box; received boxes shape "
            f"{tuple(boxes.shape)} and scores shape {tuple(scores.shape)}"
        )
    iou_threshold = check_number("nms", "iou_threshold", iou_threshold, minimum=0, maximum=1,
                                 allow_tensor=True)
    max_output_size = check_int("nms", "max_output_size", max_output_size, allow_none=True)
    order = tf.argsort(scores, direction="DESCENDING", stable=True)
    sorted_boxes = tf.gather(boxes, order)[None]
    valid = tf.ones_like(order, "bool")[None]
    threshold = tf.convert_to_tensor(iou_threshold, boxes.dtype)  # one trace for any value
    keep = greedy_nms_mask(sorted_boxes, valid, threshold, max_output_size)
    return tf.boolean_mask(order, keep[0])


# A `tf.function` so that eager callers run the loop as one graph instead of op by op
# (inside another `tf.function` it is simply inlined).
@tf.function(reduce_retracing=True)
def greedy_nms_mask(sorted_boxes, valid, iou_threshold, max_output_size=None, groups=None):
    """Batched NMS on boxes already sorted by decreasing score; returns a keep mask.

    Args:
        sorted_boxes: corner boxes `(batch, n, 4)`, each row sorted by decreasing score.
        valid: bool `(batch, n)`, False for boxes that take no part.
        iou_threshold: a box is suppressed when its IoU with a kept box is above this.
        max_output_size: optional int, the most boxes kept per image.
        groups: optional int `(batch, n)`; boxes only suppress boxes of the same group
            (per-class NMS).

    Returns:
        bool `(batch, n)`: True for the kept boxes (same order as `sorted_boxes`).
    """
    n = tf.shape(sorted_boxes)[1]
    limit = n if max_output_size is None else tf.minimum(n, max_output_size)

    def body(remaining, keep, counts):
        has_box = tf.reduce_any(remaining, axis=1)  # (batch,)
        first = tf.argmax(tf.cast(remaining, "int32"), axis=1, output_type="int32")
        picked = tf.one_hot(first, n, on_value=True, off_value=False) & has_box[:, None]
        picked_box = tf.gather(sorted_boxes, first, batch_dims=1)  # (batch, 4)
        iou = box_iou(picked_box[:, None, :], sorted_boxes)[:, 0, :]  # (batch, n)
        suppress = iou > iou_threshold
        if groups is not None:
            picked_group = tf.gather(groups, first, batch_dims=1)
            suppress &= tf.equal(groups, picked_group[:, None])
        keep |= picked
        counts += tf.cast(has_box, "int32")
        remaining &= ~(suppress | picked)
        remaining &= (counts < limit)[:, None]
        return remaining, keep, counts

    remaining = valid
    _, keep, _ = tf.while_loop(
        lambda remaining, keep, counts: tf.reduce_any(remaining),
        body,
        (remaining, tf.zeros_like(valid), tf.zeros(tf.shape(valid)[:1], "int32")),
    )
    return keep


def multibox_detection(cls_probs, offset_preds, anchors, nms_threshold=0.5,
                       pos_threshold=0.009999999, max_detections=None, per_class=False,
                       implementation="scratch"):
    """Turns SSD predictions into detections: decode, NMS, threshold (d2l's algorithm).

    For every image and anchor: the predicted class is the argmax over the non-background
    classes and its probability is the score (the notes' confidence); the box is
    `offset_inverse(anchor, offset)`. Anchors whose score is below `pos_threshold` become
    background: class -1 and score `1 - score` (d2l's convention: the confidence of
    background). NMS (`nms_threshold`) over the other anchors keeps boxes in decreasing
    score order; the suppressed ones get class -1 and keep their score.

    Differences from d2l, which runs NMS before the threshold: the detections are the same,
    but d2l lists kept anchors below `pos_threshold` among the kept rows, while here every
    background row comes after the detections (and NMS skips those anchors, which is much
    faster on a trained model's mostly-background output).

    NMS is class-agnostic like d2l (a dog box can suppress an overlapping cat box) unless
    `per_class=True`, where a box only suppresses boxes of its own predicted class.
    `implementation="fused"` runs the `tf.image.non_max_suppression` kernel per image (the
    fast serving path) instead of the from-scratch `greedy_nms_mask` (`"scratch"`); both
    give the same detections (with `per_class=True` the fused path shifts each class's boxes
    apart, so an IoU within float rounding of the threshold may decide differently). Runs
    in `tf.function`.

    Args:
        cls_probs: class probabilities, channels-last `(batch, num_anchors,
            num_classes + 1)` with background at index 0 (d2l uses `(batch, num_classes + 1,
            num_anchors)`; transpose with `tf.transpose(p, (0, 2, 1))`).
        offset_preds: `(batch, num_anchors * 4)` offsets, anchor-major (as produced by
            `multibox_target`).
        anchors: corner boxes `(num_anchors, 4)` or `(1, num_anchors, 4)`, normalized.
        nms_threshold: IoU above which NMS suppresses a box.
        pos_threshold: scores below this make the anchor background.
        max_detections: optional int; NMS keeps at most this many boxes per image and the
            output has `max_detections` rows (padded with class -1, score 0, box 0 when
            there are fewer anchors). Default: `num_anchors` rows.
        per_class: NMS within each predicted class instead of across classes.
        implementation: `"scratch"` (the notes' algorithm, `greedy_nms_mask`) or `"fused"`
            (the `tf.image.non_max_suppression` kernel, ~5x faster on a trained model).

    Returns:
        float `(batch, rows, 6)` with rows `(class_id, score, xmin, ymin, xmax, ymax)`:
        first the detections (kept by NMS, score >= `pos_threshold`) in decreasing score
        order, then every other anchor in anchor order with class -1. `class_id` is -1 or
        a 0-based object class.

    Example:

    >>> anchors = [[0.1, 0.08, 0.52, 0.92], [0.08, 0.2, 0.56, 0.95],
    ...            [0.15, 0.3, 0.62, 0.91], [0.55, 0.2, 0.9, 0.88]]
    >>> probs = [[[0, 0.9, 0.1], [0, 0.8, 0.2], [0, 0.7, 0.3], [0, 0.1, 0.9]]]
    >>> out = multibox_detection(probs, [[0.0] * 16], anchors)
    >>> out.numpy()[0, :, :2]
    array([[ 0. ,  0.9],
           [ 1. ,  0.9],
           [-1. ,  0.8],
           [-1. ,  0.7]], dtype=float32)
    """
    cls_probs = tf.convert_to_tensor(cls_probs)
    if not cls_probs.dtype.is_floating:
        cls_probs = tf.cast(cls_probs, "float32")
    dtype = cls_probs.dtype
    offset_preds = tf.cast(tf.convert_to_tensor(offset_preds), dtype)
    anchors = tf.cast(validate_boxes(anchors, "anchors", "multibox_detection", ranks=(2, 3)),
                      dtype)
    _check_detection_shapes(cls_probs, offset_preds, anchors)
    if anchors.shape.rank == 3:
        anchors = anchors[0]
    nms_threshold = check_number("multibox_detection", "nms_threshold", nms_threshold,
                                 minimum=0, maximum=1, allow_tensor=True)
    check_choice("multibox_detection", "implementation", implementation, IMPLEMENTATIONS)
    max_detections = check_int("multibox_detection", "max_detections", max_detections,
                               allow_none=True)

    shape = tf.shape(cls_probs)
    batch, num_anchors = shape[0], shape[1]
    scores = tf.reduce_max(cls_probs[..., 1:], axis=-1)  # (batch, A)
    class_ids = tf.argmax(cls_probs[..., 1:], axis=-1, output_type="int32")
    boxes = offset_inverse(anchors, tf.reshape(offset_preds, (batch, num_anchors, 4)))
    order = tf.argsort(scores, axis=1, direction="DESCENDING", stable=True)
    rank = tf.argsort(order, axis=1)  # position of each anchor in the score order
    # Anchors below pos_threshold are background whatever NMS says, and they come after
    # every candidate in score order, so they cannot suppress one: leave them out of NMS.
    candidates = scores >= pos_threshold

    if implementation == "fused":
        keep = _fused_nms_keep(boxes, tf.where(candidates, scores, float("-inf")),
                            class_ids if per_class else None, nms_threshold, max_detections,
                            num_anchors)
        keep &= candidates
    else:
        sorted_boxes = tf.gather(boxes, order, batch_dims=1)
        groups = tf.gather(class_ids, order, batch_dims=1) if per_class else None
        keep_sorted = greedy_nms_mask(sorted_boxes, tf.gather(candidates, order, batch_dims=1),
                                      tf.convert_to_tensor(nms_threshold, dtype),
                                      max_detections, groups)
        keep = tf.gather(keep_sorted, rank, batch_dims=1)  # back to anchor order

    # Detections first by decreasing score, then all other anchors in anchor order.
    anchor_index = tf.range(num_anchors)[None]
    sort_key = tf.where(keep, rank, num_anchors + anchor_index)
    output_order = tf.argsort(sort_key, axis=1)

    class_ids = tf.where(keep, class_ids, -1)
    scores = tf.where(candidates, scores, 1 - scores)
    columns = [
        tf.cast(class_ids, dtype)[..., None],
        scores[..., None],
        boxes,
    ]
    columns = [tf.gather(c, output_order, batch_dims=1) for c in columns]
    if max_detections is not None:
        pad = tf.maximum(max_detections - num_anchors, 0)
        columns = [
            tf.pad(c[:, :max_detections], [[0, 0], [0, pad], [0, 0]],
                   constant_values=-1.0 if i == 0 else 0.0)
            for i, c in enumerate(columns)
        ]
    return tf.concat(columns, axis=-1)


def _fused_nms_keep(boxes, scores, groups, iou_threshold, max_detections, num_anchors):
    """Keep mask `(batch, A)` from `tf.image.non_max_suppression`, one image at a time.

    (`tf.image.non_max_suppression_padded` is not used: its tiled implementation also
    suppresses boxes whose IoU equals the threshold, unlike the notes and the NMS kernel.)
    """
    if groups is not None:
        # Shift each class's boxes to its own region so boxes of different classes never
        # overlap (the usual batched-NMS trick).
        extent = tf.reduce_max(tf.abs(boxes)) * 2.0 + 1.0
        boxes = boxes + tf.cast(groups, boxes.dtype)[..., None] * extent
    max_output_size = num_anchors if max_detections is None else max_detections

    def one_image(args):
        image_boxes, image_scores = args
        selected = tf.image.non_max_suppression(
            image_boxes, image_scores, max_output_size=max_output_size,
            iou_threshold=iou_threshold,
        )
        hits = tf.scatter_nd(selected[:, None], tf.ones_like(selected), [num_anchors])
        return hits > 0

    return tf.map_fn(one_image, (boxes, scores), fn_output_signature=tf.bool)


def _check_detection_shapes(cls_probs, offset_preds, anchors):
    if cls_probs.shape.rank not in (None, 3) or cls_probs.shape[-1] in (0, 1):
        raise ValueError(
            "multibox_detection: cls_probs must have shape (batch, num_anchors, "
            f"num_classes + 1) with num_classes >= 1; received shape {tuple(cls_probs.shape)}"
        )
    if offset_preds.shape.rank not in (None, 2):
        raise ValueError(
            "multibox_detection: offset_preds must have shape (batch, num_anchors * 4); "
            f"received shape {tuple(offset_preds.shape)}"
        )
    num_anchors = cls_probs.shape[1] if cls_probs.shape.rank else None
    anchor_count = anchors.shape[-2]
    if anchors.shape.rank == 3 and anchors.shape[0] not in (None, 1):
        raise ValueError(
            "multibox_detection: anchors must have shape (num_anchors, 4) or "
            f"(1, num_anchors, 4); received shape {tuple(anchors.shape)}"
        )
    if num_anchors is not None and anchor_count is not None and num_anchors != anchor_count:
        raise ValueError(
            f"multibox_detection: cls_probs has {num_anchors} anchors (shape "
            f"{tuple(cls_probs.shape)}) but anchors has {anchor_count} (shape "
            f"{tuple(anchors.shape)})"
        )
    offsets = offset_preds.shape[-1] if offset_preds.shape.rank else None
    count = num_anchors if num_anchors is not None else anchor_count
    if offsets is not None and count is not None and offsets != 4 * count:
        raise ValueError(
            f"multibox_detection: offset_preds must have shape (batch, {4 * count}) for "
            f"{count} anchors; received shape {tuple(offset_preds.shape)}"
        )
