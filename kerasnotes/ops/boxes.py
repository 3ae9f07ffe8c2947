"""Bounding boxes: corner <-> center format, normalized <-> pixel units, and the IoU matrix.

Boxes are `(xmin, ymin, xmax, ymax)` ("corner" format) in normalized `[0, 1]` image units
unless a name says otherwise; "center" format is `(cx, cy, w, h)`. The last axis always has
size 4 and any leading axes are batch axes.
"""

import keras
import tensorflow as tf

from kerasnotes._checks import check_number


def validate_boxes(boxes, name, function, ranks=None):
    """Converts `boxes` to a float tensor and checks that its static shape is `(..., 4)`.

    Integer inputs become float32; float inputs keep their dtype.

    Args:
        boxes: array-like of boxes.
        name: the argument name used in error messages, e.g. `"boxes1"`.
        function: the public function name used in error messages, e.g. `"box_iou"`.
        ranks: optional tuple of allowed ranks.

    Returns:
        the boxes as a float `tf.Tensor`.

    Raises:
        ValueError: when the last dimension is not 4 or the rank is not allowed.
    """
    boxes = tf.convert_to_tensor(boxes)
    if not boxes.dtype.is_floating:
        boxes = tf.cast(boxes, "float32")
    shape = boxes.shape
    if shape.rank is not None:
        if shape.rank == 0 or (shape[-1] is not None and shape[-1] != 4):
            raise ValueError(
                f"{function}: {name} must have shape (..., 4) with (xmin, ymin, xmax, ymax) "
                f"on the last axis; received shape {tuple(shape)}"
            )
        if ranks is not None and shape.rank not in ranks:
            expected = " or ".join(
                "(" + ", ".join(["batch"] * (r - 2) + ["n", "4"]) + ")" for r in ranks
            )
            raise ValueError(
                f"{function}: {name} must have shape {expected}; received shape {tuple(shape)}"
            )
    return boxes


def corner_to_center(boxes):
    """Converts boxes from corner `(xmin, ymin, xmax, ymax)` to center `(cx, cy, w, h)`.

    `cx = (xmin + xmax) / 2`, `cy = (ymin + ymax) / 2`, `w = xmax - xmin`, `h = ymax - ymin`.
    Delegates to `keras.utils.bounding_boxes.convert_format(boxes, "xyxy", "center_xywh")`.

    Args:
        boxes: `(..., 4)` corner boxes, any units.

    Returns:
        `(..., 4)` center boxes in the same units and dtype.

    Example:

    >>> corner_to_center([[0.1, 0.2, 0.5, 0.8]]).numpy()
    array([[0.3, 0.5, 0.4, 0.6]], dtype=float32)
    """
    boxes = validate_boxes(boxes, "boxes", "corner_to_center")
    return keras.utils.bounding_boxes.convert_format(
        boxes, source="xyxy", target="center_xywh", dtype=boxes.dtype
    )


def center_to_corner(boxes):
    """Converts boxes from center `(cx, cy, w, h)` to corner `(xmin, ymin, xmax, ymax)`.

    `xmin = cx - w / 2`, `ymin = cy - h / 2`, `xmax = cx + w / 2`, `ymax = cy + h / 2`.
    Delegates to `keras.utils.bounding_boxes.convert_format(boxes, "center_xywh", "xyxy")`.

    Args:
        boxes: `(..., 4)` center boxes, any units.

    Returns:
        `(..., 4)` corner boxes in the same units and dtype.

    Example:

    >>> center_to_corner([[0.5, 0.5, 0.5, 0.25]]).numpy()
    array([[0.25 , 0.375, 0.75 , 0.625]], dtype=float32)
    """
    boxes = validate_boxes(boxes, "boxes", "center_to_corner")
    return keras.utils.bounding_boxes.convert_format(
        boxes, source="center_xywh", target="xyxy", dtype=boxes.dtype
    )


def normalized_to_pixel(boxes, height, width):
    """Scales normalized boxes to pixels: x coordinates times `width`, y times `height`.

    Works for corner `(xmin, ymin, xmax, ymax)` and center `(cx, cy, w, h)` boxes alike
    (both have x-like values in columns 0 and 2). Delegates to
    `keras.utils.bounding_boxes.convert_format(boxes, "rel_xyxy", "xyxy", height, width)`.

    Args:
        boxes: `(..., 4)` boxes in `[0, 1]` image units.
        height: image height in pixels (Python number or scalar tensor).
        width: image width in pixels (Python number or scalar tensor).

    Returns:
        `(..., 4)` boxes in pixels.

    Example:

    >>> normalized_to_pixel([[0.1, 0.2, 0.5, 1.0]], height=100, width=200).numpy()
    array([[ 20.,  20., 100., 100.]], dtype=float32)
    """
    boxes = validate_boxes(boxes, "boxes", "normalized_to_pixel")
    _check_image_size("normalized_to_pixel", height, width)
    return keras.utils.bounding_boxes.convert_format(
        boxes, source="rel_xyxy", target="xyxy", height=height, width=width, dtype=boxes.dtype
    )


def pixel_to_normalized(boxes, height, width):
    """Scales pixel boxes to `[0, 1]` image units: x divided by `width`, y by `height`.

    The inverse of `normalized_to_pixel`; works for corner and center boxes alike. Delegates
    to `keras.utils.bounding_boxes.convert_format(boxes, "xyxy", "rel_xyxy", height, width)`.

    Args:
        boxes: `(..., 4)` boxes in pixels.
        height: image height in pixels (Python number or scalar tensor).
        width: image width in pixels (Python number or scalar tensor).

    Returns:
        `(..., 4)` boxes in normalized units.

    Example:

    >>> pixel_to_normalized([[20, 20, 100, 100]], height=100, width=200).numpy()
    array([[0.1, 0.2, 0.5, 1. ]], dtype=float32)
    """
    boxes = validate_boxes(boxes, "boxes", "pixel_to_normalized")
    _check_image_size("pixel_to_normalized", height, width)
    return keras.utils.bounding_boxes.convert_format(
        boxes, source="xyxy", target="rel_xyxy", height=height, width=width, dtype=boxes.dtype
    )


def box_area(boxes):
    """Area `max(xmax - xmin, 0) * max(ymax - ymin, 0)` of corner boxes `(..., 4)` -> `(...)`.

    Boxes with `xmax < xmin` or `ymax < ymin` have area 0.
    """
    boxes = validate_boxes(boxes, "boxes", "box_area")
    widths = tf.maximum(boxes[..., 2] - boxes[..., 0], 0.0)
    heights = tf.maximum(boxes[..., 3] - boxes[..., 1], 0.0)
    return widths * heights


def box_iou(boxes1, boxes2):
    """The IoU (intersection over union, Jaccard index) of every pair of two box sets.

    The notes' formula: `IoU(A, B) = |A intersect B| / |A union B|` with
    `|A union B| = |A| + |B| - |A intersect B|`. Pairs whose union is empty (two zero-area
    boxes) get IoU 0 instead of NaN; degenerate boxes (`xmax < xmin`) count as zero-area.
    Equal to `keras.utils.bounding_boxes.compute_iou(..., "xyxy")` except that Keras adds
    `epsilon` to the union, which biases tiny boxes.

    Args:
        boxes1: corner boxes `(xmin, ymin, xmax, ymax)`, shape `(n, 4)` or `(batch, n, 4)`.
        boxes2: corner boxes, shape `(m, 4)` or `(batch, m, 4)`.

    Returns:
        the IoU matrix `(n, m)` when both are unbatched, else `(batch, n, m)` (an unbatched
        set is broadcast against a batched one).

    Example:

    >>> box_iou([[0.0, 0.0, 1.0, 1.0]], [[0.0, 0.0, 0.5, 1.0], [2.0, 2.0, 3.0, 3.0]]).numpy()
    array([[0.5, 0. ]], dtype=float32)
    """
    boxes1 = validate_boxes(boxes1, "boxes1", "box_iou", ranks=(2, 3))
    boxes2 = validate_boxes(boxes2, "boxes2", "box_iou", ranks=(2, 3))
    boxes2 = tf.cast(boxes2, boxes1.dtype)
    # Coordinates as separate (..., n, 1) and (..., 1, m) tensors: every intermediate is one
    # (..., n, m) tensor, with no strided slicing of a trailing axis.
    x1a, y1a, x2a, y2a = [c[..., :, None] for c in tf.unstack(boxes1, 4, axis=-1)]
    x1b, y1b, x2b, y2b = [c[..., None, :] for c in tf.unstack(boxes2, 4, axis=-1)]
    area1 = tf.maximum(x2a - x1a, 0.0) * tf.maximum(y2a - y1a, 0.0)  # (..., n, 1)
    area2 = tf.maximum(x2b - x1b, 0.0) * tf.maximum(y2b - y1b, 0.0)  # (..., 1, m)
    inter_w = tf.maximum(tf.minimum(x2a, x2b) - tf.maximum(x1a, x1b), 0.0)
    inter_h = tf.maximum(tf.minimum(y2a, y2b) - tf.maximum(y1a, y1b), 0.0)
    intersection = inter_w * inter_h
    union = area1 + area2 - intersection
    return tf.math.divide_no_nan(intersection, union)


def _check_image_size(function, height, width):
    check_number(function, "height", height, exclusive_minimum=0, allow_tensor=True)
    check_number(function, "width", width, exclusive_minimum=0, allow_tensor=True)
