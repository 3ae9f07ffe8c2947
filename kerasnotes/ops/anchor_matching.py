"""Labelling anchors for training: assign ground-truth boxes to anchors, then build targets."""

import tensorflow as tf

from kerasnotes._checks import check_number
from kerasnotes.ops.box_offsets import offset_boxes
from kerasnotes.ops.boxes import box_iou, validate_boxes

# IoU entries that are discarded (matched rows/columns, padded ground truths) are set to
# this value, below every real IoU (which lies in [0, 1]).
_DISCARDED = -1.0


def assign_anchor_to_bbox(ground_truth, anchors, iou_threshold=0.5, ground_truth_mask=None):
    """Assigns to every anchor the index of a ground-truth box, or -1 (background).

    The notes' algorithm, on the IoU matrix `X` of shape `(num_anchors, num_ground_truths)`:

    1. take the largest entry `x_ij` of `X`; anchor `i` gets ground truth `j`; discard row
       `i` and column `j`; repeat until every ground truth has an anchor (so every object
       gets at least one anchor, even one with a small IoU);
    2. every other anchor `i` gets the ground truth `j` of largest `X[i, j]` if that IoU is
       above `iou_threshold` (strictly greater: the notes' "大于阈值"; d2l's code uses `>=`,
       which differs only on exact ties), else it is background (-1).

    Ties are broken by the smallest flat index (anchor first, then ground truth), like
    `argmax`. Step 1 is a `tf.while_loop` over the ground-truth axis, vectorized over anchors
    and the batch, so it runs in eager mode, in `tf.function` and in `tf.data`. Padded
    ground truths (`ground_truth_mask` False) never receive an anchor, and an image with no
    valid ground truth gets all anchors as background.

    Args:
        ground_truth: corner boxes `(xmin, ymin, xmax, ymax)`, shape `(m, 4)` or
            `(batch, m, 4)`, in the anchors' units (normalized).
        anchors: corner boxes, shape `(num_anchors, 4)`.
        iou_threshold: Python float in `[0, 1]`.
        ground_truth_mask: optional bool `(m,)` or `(batch, m)`, True for real boxes and
            False for padding rows; default all True.

    Returns:
        int32 `(num_anchors,)` or `(batch, num_anchors)`: index into the ground-truth axis
        of the box assigned to each anchor, -1 for background.

    Example:

    >>> anchors = [[0.0, 0.1, 0.2, 0.3], [0.15, 0.2, 0.4, 0.4], [0.63, 0.05, 0.88, 0.98],
    ...            [0.66, 0.45, 0.8, 0.8], [0.57, 0.3, 0.92, 0.9]]
    >>> ground_truth = [[0.1, 0.08, 0.52, 0.92], [0.55, 0.2, 0.9, 0.88]]
    >>> assign_anchor_to_bbox(ground_truth, anchors).numpy()
    array([-1,  0,  1, -1,  1], dtype=int32)
    """
    ground_truth = validate_boxes(ground_truth, "ground_truth", "assign_anchor_to_bbox",
                                  ranks=(2, 3))
    anchors = validate_boxes(anchors, "anchors", "assign_anchor_to_bbox", ranks=(2,))
    check_number("assign_anchor_to_bbox", "iou_threshold", iou_threshold, minimum=0, maximum=1,
                 allow_tensor=True)
    unbatched = ground_truth.shape.rank == 2
    if unbatched:
        ground_truth = ground_truth[None]
    gt_shape = tf.shape(ground_truth)
    if ground_truth_mask is None:
        ground_truth_mask = tf.ones(gt_shape[:2], "bool")
    else:
        ground_truth_mask = tf.convert_to_tensor(ground_truth_mask)
        if ground_truth_mask.dtype != tf.bool:
            raise ValueError(
                "assign_anchor_to_bbox: ground_truth_mask must be boolean; received dtype "
                f"{ground_truth_mask.dtype.name}"
            )
        expected_rank = 1 if unbatched else 2
        if ground_truth_mask.shape.rank not in (None, expected_rank):
            raise ValueError(
                "assign_anchor_to_bbox: ground_truth_mask must have the shape of ground_truth "
                f"without its last axis; received shape {tuple(ground_truth_mask.shape)}"
            )
        if unbatched:
            ground_truth_mask = ground_truth_mask[None]
        ground_truth_mask = tf.broadcast_to(ground_truth_mask, gt_shape[:2])

    iou = box_iou(tf.cast(anchors, ground_truth.dtype), ground_truth)  # (batch, A, m)
    assignment = _assign_from_iou(iou, ground_truth_mask, iou_threshold)
    return assignment[0] if unbatched else assignment


def _assign_from_iou(iou, ground_truth_mask, iou_threshold):
    """The assignment on a batch of IoU matrices `(batch, A, m)` -> int32 `(batch, A)`."""
    discarded = tf.constant(_DISCARDED, iou.dtype)
    # A padded column is appended so the ground-truth axis is never empty (argmax over an
    # empty axis fails); it is masked like any padding row and never assigned.
    iou = tf.pad(iou, [[0, 0], [0, 0], [0, 1]])
    ground_truth_mask = tf.pad(ground_truth_mask, [[0, 0], [0, 1]], constant_values=False)
    iou = tf.where(ground_truth_mask[:, None, :], iou, discarded)
    shape = tf.shape(iou)
    batch, num_anchors, num_gt = shape[0], shape[1], shape[2]

    # Step 2 first (step 1 overrides it): best ground truth per anchor above the threshold.
    best_gt = tf.argmax(iou, axis=2, output_type="int32")
    best_iou = tf.reduce_max(iou, axis=2)
    assignment = tf.where(best_iou > iou_threshold, best_gt, -1)
    assignment_shape = assignment.shape

    # Step 1: greedy matching, one ground truth per iteration, all images at once.
    def body(step, work, assignment):
        flat = tf.reshape(work, (batch, num_anchors * num_gt))
        index = tf.argmax(flat, axis=1, output_type="int32")
        found = tf.reduce_max(flat, axis=1) > discarded  # False once all columns are used
        anchor_index = index // num_gt
        gt_index = index % num_gt
        row = tf.one_hot(anchor_index, num_anchors, on_value=True, off_value=False)
        column = tf.one_hot(gt_index, num_gt, on_value=True, off_value=False)
        assignment = tf.where(row & found[:, None], gt_index[:, None], assignment)
        new_work = tf.where(row[:, :, None] | column[:, None, :], discarded, work)
        # The flat reshape hides static dimensions; restore them for the loop invariants.
        return (step + 1, tf.ensure_shape(new_work, work.shape),
                tf.ensure_shape(assignment, assignment_shape))

    _, _, assignment = tf.while_loop(
        lambda step, work, assignment: step < num_gt - 1,
        body,
        (tf.constant(0), iou, assignment),
    )
    return assignment


def multibox_target(anchors, labels, iou_threshold=0.5):
    """Training targets of every anchor: box offsets, offset mask and class labels.

    For each image, `assign_anchor_to_bbox` matches anchors to the valid ground-truth rows
    (class >= 0); an anchor assigned to box `j` gets class `labels[j, 0] + 1` (class 0 is
    background, so object classes shift by one, as in d2l) and offsets
    `offset_boxes(anchor, box_j)` (notes: sigma_x = sigma_y = 0.1, sigma_w = sigma_h = 0.2);
    a background anchor gets class 0, offsets 0 and mask 0. Fully vectorized over anchors and
    the batch; runs in `tf.function` and `tf.data`.

    Args:
        anchors: corner boxes `(num_anchors, 4)` (or d2l's `(1, num_anchors, 4)`),
            normalized.
        labels: `(batch, max_objects, 5)` rows `(class, xmin, ymin, xmax, ymax)` with
            normalized corners; rows with class -1 (any negative class) are padding. An
            unbatched `(max_objects, 5)` gives unbatched outputs.
        iou_threshold: threshold of step 2 of the assignment.

    Returns:
        a tuple `(bbox_offsets, bbox_mask, class_labels)`:
        `bbox_offsets` float `(batch, num_anchors * 4)` (anchor-major: 4 values per anchor),
        `bbox_mask` float `(batch, num_anchors * 4)` with 1 for assigned anchors,
        `class_labels` int32 `(batch, num_anchors)`.

    Example:

    >>> anchors = [[0.0, 0.1, 0.2, 0.3], [0.15, 0.2, 0.4, 0.4], [0.63, 0.05, 0.88, 0.98],
    ...            [0.66, 0.45, 0.8, 0.8], [0.57, 0.3, 0.92, 0.9]]
    >>> labels = [[[0, 0.1, 0.08, 0.52, 0.92], [1, 0.55, 0.2, 0.9, 0.88]]]
    >>> offsets, mask, classes = multibox_target(anchors, labels)
    >>> classes.numpy()
    array([[0, 1, 2, 0, 2]], dtype=int32)
    """
    anchors = validate_boxes(anchors, "anchors", "multibox_target", ranks=(2, 3))
    if anchors.shape.rank == 3:
        if anchors.shape[0] not in (None, 1):
            raise ValueError(
                "multibox_target: anchors must have shape (num_anchors, 4) or "
                f"(1, num_anchors, 4); received shape {tuple(anchors.shape)}"
            )
        anchors = anchors[0]
    labels = tf.convert_to_tensor(labels)
    if not labels.dtype.is_floating:
        labels = tf.cast(labels, anchors.dtype)
    if labels.shape.rank not in (None, 2, 3) or labels.shape[-1] not in (None, 5):
        raise ValueError(
            "multibox_target: labels must have shape (batch, max_objects, 5) or "
            "(max_objects, 5) with rows (class, xmin, ymin, xmax, ymax); received shape "
            f"{tuple(labels.shape)}"
        )
    check_number("multibox_target", "iou_threshold", iou_threshold, minimum=0, maximum=1,
                 allow_tensor=True)
    unbatched = labels.shape.rank == 2
    if unbatched:
        labels = labels[None]
    labels = tf.cast(labels, anchors.dtype)
    # One extra padding row keeps the gathers below valid when max_objects is 0.
    labels = tf.pad(labels, [[0, 0], [0, 1], [0, 0]], constant_values=-1.0)
    classes = labels[..., 0]
    boxes = labels[..., 1:]
    valid = classes >= 0
    assignment = assign_anchor_to_bbox(boxes, anchors, iou_threshold, ground_truth_mask=valid)
    positive = assignment >= 0  # (batch, A)
    index = tf.maximum(assignment, 0)
    assigned_classes = tf.gather(classes, index, batch_dims=1)  # (batch, A)
    class_labels = tf.where(positive, tf.cast(assigned_classes, "int32") + 1, 0)
    assigned_boxes = tf.gather(boxes, index, batch_dims=1)  # (batch, A, 4)
    # Background anchors are "assigned" to themselves, which gives offsets of exactly 0.
    assigned_boxes = tf.where(positive[..., None], assigned_boxes, anchors[None])
    offsets = offset_boxes(anchors[None], assigned_boxes)
    mask = tf.cast(tf.repeat(positive, 4, axis=1), anchors.dtype)
    batch = tf.shape(labels)[0]
    offsets = tf.reshape(offsets, (batch, -1))
    if unbatched:
        return offsets[0], mask[0], class_labels[0]
    return offsets, mask, class_labels
