"""Offsets of a box relative to an anchor (the regression target of SSD) and their inverse."""

import tensorflow as tf

from kerasnotes.ops.boxes import center_to_corner, corner_to_center, validate_boxes

# The notes' constants: mu_x = mu_y = mu_w = mu_h = 0, sigma_x = sigma_y = 0.1,
# sigma_w = sigma_h = 0.2.
OFFSET_MEANS = (0.0, 0.0, 0.0, 0.0)
OFFSET_STDS = (0.1, 0.1, 0.2, 0.2)

# Widths and heights are clamped below at this value before the logarithm, so that a
# zero-size box gives a large finite offset instead of -inf. Boxes larger than this
# round-trip exactly through `offset_inverse`.
MIN_SIZE = 1e-8


def offset_boxes(anchors, assigned_bb):
    """Encodes boxes as offsets from anchors, the notes' formula in center format.

    With anchor `(x_a, y_a, w_a, h_a)` and box `(x_b, y_b, w_b, h_b)` (centers, widths,
    heights) and `mu = 0`, `sigma_x = sigma_y = 0.1`, `sigma_w = sigma_h = 0.2`:

        offset = ((x_b - x_a) / w_a / 0.1,
                  (y_b - y_a) / h_a / 0.1,
                  log(w_b / w_a) / 0.2,
                  log(h_b / h_a) / 0.2)

    Equal to `keras.utils.bounding_boxes.encode_box_to_deltas(anchors, boxes, "xyxy", "xyxy",
    encoding_format="center_xywh", variance=[0.1, 0.1, 0.2, 0.2])`. Widths and heights are
    clamped below at `MIN_SIZE` (1e-8) so a degenerate box gives a finite offset.

    Args:
        anchors: corner boxes `(xmin, ymin, xmax, ymax)`, shape `(..., 4)`.
        assigned_bb: corner boxes of the same units, shape `(..., 4)` broadcastable with
            `anchors` (e.g. anchors `(A, 4)` and boxes `(batch, A, 4)`).

    Returns:
        offsets `(..., 4)` = `(dx, dy, dw, dh)` with the broadcast shape.

    Example:

    >>> offset_boxes([[0.0, 0.0, 1.0, 1.0]], [[0.1, 0.0, 1.1, 1.0]]).numpy().round(5)
    array([[1., 0., 0., 0.]], dtype=float32)
    """
    anchors = validate_boxes(anchors, "anchors", "offset_boxes")
    assigned_bb = tf.cast(validate_boxes(assigned_bb, "assigned_bb", "offset_boxes"),
                          anchors.dtype)
    anchor_c = corner_to_center(anchors)
    box_c = corner_to_center(assigned_bb)
    anchor_wh = tf.maximum(anchor_c[..., 2:], MIN_SIZE)
    box_wh = tf.maximum(box_c[..., 2:], MIN_SIZE)
    means = tf.constant(OFFSET_MEANS, anchors.dtype)
    stds = tf.constant(OFFSET_STDS, anchors.dtype)
    offset_xy = (box_c[..., :2] - anchor_c[..., :2]) / anchor_wh
    offset_wh = tf.math.log(box_wh / anchor_wh)
    return (tf.concat([offset_xy, offset_wh], axis=-1) - means) / stds


def offset_inverse(anchors, offsets):
    """Decodes predicted offsets back into boxes: the exact inverse of `offset_boxes`.

        x_b = x_a + 0.1 * dx * w_a,     y_b = y_a + 0.1 * dy * h_a,
        w_b = w_a * exp(0.2 * dw),      h_b = h_a * exp(0.2 * dh)

    in center format, converted back to corners. Equal to
    `keras.utils.bounding_boxes.decode_deltas_to_boxes(anchors, offsets, "xyxy", "xyxy",
    encoded_format="center_xywh", variance=[0.1, 0.1, 0.2, 0.2])`.

    Args:
        anchors: corner boxes `(xmin, ymin, xmax, ymax)`, shape `(..., 4)`.
        offsets: `(dx, dy, dw, dh)`, shape `(..., 4)` broadcastable with `anchors`.

    Returns:
        corner boxes `(..., 4)` with the broadcast shape, in the anchors' units.

    Example:

    >>> offset_inverse([[0.0, 0.0, 1.0, 1.0]], [[1.0, 0.0, 0.0, 0.0]]).numpy().round(5)
    array([[0.1, 0. , 1.1, 1. ]], dtype=float32)
    """
    anchors = validate_boxes(anchors, "anchors", "offset_inverse")
    offsets = tf.convert_to_tensor(offsets)
    if offsets.shape.rank is not None and (
        offsets.shape.rank == 0 or offsets.shape[-1] not in (None, 4)
    ):
        raise ValueError(
            "offset_inverse: offsets must have shape (..., 4) with (dx, dy, dw, dh) on the "
            f"last axis; received shape {tuple(offsets.shape)}"
        )
    offsets = tf.cast(offsets, anchors.dtype)
    means = tf.constant(OFFSET_MEANS, anchors.dtype)
    stds = tf.constant(OFFSET_STDS, anchors.dtype)
    deltas = offsets * stds + means
    anchor_c = corner_to_center(anchors)
    center = anchor_c[..., :2] + deltas[..., :2] * anchor_c[..., 2:]
    size = anchor_c[..., 2:] * tf.exp(deltas[..., 2:])
    return center_to_corner(tf.concat([center, size], axis=-1))
