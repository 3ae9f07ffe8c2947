"""Region proposals for Fast R-CNN: from anchors or from an array/file, and their targets.

The notes' Fast R-CNN takes `n` proposal regions from selective search. We have no
selective search; `anchor_proposals` proposes the anchor boxes of a feature-map grid (the
detection ops' `multibox_prior`), and `load_proposals` accepts proposals computed elsewhere
(an array, or a `.npy` / text file). Proposals are rows `(batch_index, x1, y1, x2, y2)` in
image pixels, the input `ROIPooling` and `FastRCNNHead` take. `proposal_targets` labels
them for training like the anchors of the detection chapter: the class of the
best-overlapping ground truth (IoU >= threshold) and its box offsets, else background.
"""

import os

import numpy as np
import tensorflow as tf

from kerasnotes._checks import check_int, check_int_pair, check_number
from kerasnotes.ops.anchors import multibox_prior
from kerasnotes.ops.box_offsets import offset_boxes
from kerasnotes.ops.boxes import box_iou


def anchor_proposals(image_size, feature_size, sizes, ratios, batch_size=1):
    """The anchors of a `feature_size` grid as proposals for every image of a batch.

    Anchors from `multibox_prior(feature_h, feature_w, sizes, ratios)` (normalized corners)
    are scaled to pixels, clipped to the image and repeated for each of the `batch_size`
    images with its batch index.

    Args:
        image_size: `(height, width)` of the images in pixels.
        feature_size: `(feature_h, feature_w)`, the grid of anchor centres.
        sizes, ratios: anchor sizes and aspect ratios (see `multibox_prior`).
        batch_size: number of images.

    Returns:
        float32 `(batch_size * A, 5)` rows `(batch_index, x1, y1, x2, y2)` in pixels, image
        by image, with `A = feature_h * feature_w * (len(sizes) + len(ratios) - 1)`.

    Example:

    >>> anchor_proposals((32, 32), (2, 2), sizes=[0.5], ratios=[1.0], batch_size=2).shape
    TensorShape([8, 5])
    """
    height, width = check_int_pair("anchor_proposals", "image_size", image_size,
                                   allow_single=False)
    feature_h, feature_w = check_int_pair("anchor_proposals", "feature_size", feature_size,
                                          allow_single=False)
    batch_size = check_int("anchor_proposals", "batch_size", batch_size)
    anchors = multibox_prior(feature_h, feature_w, sizes, ratios)
    scale = tf.constant([width, height, width, height], "float32")
    boxes = tf.clip_by_value(anchors * scale, 0.0, scale)
    num = tf.shape(boxes)[0]
    index = tf.repeat(tf.range(batch_size, dtype="float32"), num)[:, None]
    return tf.concat([index, tf.tile(boxes, [batch_size, 1])], axis=1)


def load_proposals(source, num_images=None):
    """Proposals given by the user: an array, or a file of rows `(batch_index, x1, y1, x2, y2)`.

    Args:
        source: array-like `(R, 5)`, or the path of a `.npy` file or of a text file (one
            region per line, numbers separated by commas or whitespace; `#` comments).
        num_images: when given, batch indices must lie in `[0, num_images)`.

    Returns:
        float32 NumPy array `(R, 5)`.

    Raises:
        ValueError: naming the file (or "proposals") for a wrong shape, `x2 < x1` or
            `y2 < y1`, a non-integer or out-of-range batch index; OSError for a missing file.

    Example:

    >>> load_proposals([[0, 0, 0, 10, 10]]).shape
    (1, 5)
    """
    name = "proposals"
    if isinstance(source, (str, os.PathLike)):
        name = os.fspath(source)
        if not os.path.isfile(name):
            raise OSError(f"load_proposals: no proposal file at {name}")
        if name.endswith(".npy"):
            values = np.load(name)
        else:
            try:
                delimiter = "," if _has_commas(name) else None
                values = np.loadtxt(name, delimiter=delimiter, comments="#", ndmin=2,
                                    dtype="float32")
            except ValueError as error:
                raise ValueError(f"load_proposals: {name} is not a table of numbers "
                                 f"({error})") from None
    else:
        values = source
    values = np.asarray(values, dtype="float32")
    if values.ndim != 2 or values.shape[1] != 5:
        raise ValueError(f"load_proposals: {name} must hold rows (batch_index, x1, y1, x2, y2), "
                         f"shape (R, 5); received shape {values.shape}")
    bad = np.nonzero((values[:, 3] < values[:, 1]) | (values[:, 4] < values[:, 2]))[0]
    if len(bad):
        raise ValueError(f"load_proposals: {name}: region {int(bad[0])} has x2 < x1 or "
                         f"y2 < y1: {values[bad[0]].tolist()}")
    index = values[:, 0]
    out = (index < 0) | (index != np.floor(index))
    if num_images is not None:
        out |= index >= num_images
    bad = np.nonzero(out)[0]
    if len(bad):
        limit = f"[0, {num_images})" if num_images is not None else "the non-negative integers"
        raise ValueError(f"load_proposals: {name}: region {int(bad[0])} has batch index "
                         f"{float(index[bad[0]])}, outside {limit}")
    return values


def proposal_targets(proposals, labels, image_size, iou_threshold=0.5):
    """Class and box-offset training targets of every proposal.

    Each proposal `(b, x1, y1, x2, y2)` is compared (IoU) with the valid ground truths of
    image `b`; with `j` the best one, the proposal gets class `labels[b, j, 0] + 1` and
    offsets `offset_boxes(proposal, box_j)` (normalized units, the notes' sigma 0.1 / 0.2)
    when `IoU >= iou_threshold`, else class 0 (background), offsets 0 and mask 0.

    Args:
        proposals: `(R, 5)` pixel proposals.
        labels: `(N, m, 5)` rows `(class, xmin, ymin, xmax, ymax)` with normalized corners,
            class -1 for padding rows.
        image_size: `(height, width)` of the images in pixels.
        iou_threshold: float in `[0, 1]`.

    Returns:
        `(class_labels, offsets, mask)`: int32 `(R,)`, float32 `(R, 4)`, float32 `(R, 4)`.

    Example:

    >>> proposals = [[0, 0, 0, 16, 16], [0, 16, 16, 32, 32]]
    >>> labels = [[[2, 0.0, 0.0, 0.5, 0.5]]]
    >>> proposal_targets(proposals, labels, (32, 32))[0].numpy()
    array([3, 0], dtype=int32)
    """
    height, width = check_int_pair("proposal_targets", "image_size", image_size,
                                   allow_single=False)
    iou_threshold = check_number("proposal_targets", "iou_threshold", iou_threshold, minimum=0,
                                 maximum=1)
    proposals = tf.cast(tf.convert_to_tensor(proposals), "float32")
    labels = tf.cast(tf.convert_to_tensor(labels), "float32")
    if labels.shape.rank != 3 or labels.shape[-1] != 5:
        raise ValueError("proposal_targets: labels must have shape (N, m, 5); received shape "
                         f"{tuple(labels.shape)}")
    scale = tf.constant([width, height, width, height], "float32")
    boxes = proposals[:, 1:] / scale  # (R, 4) normalized
    image_labels = tf.gather(labels, tf.cast(proposals[:, 0], "int32"))  # (R, m, 5)
    valid = image_labels[..., 0] >= 0
    iou = box_iou(boxes[:, None, :], image_labels[..., 1:])[:, 0, :]  # (R, m)
    iou = tf.where(valid, iou, -1.0)
    best = tf.argmax(iou, axis=1, output_type="int32")
    best_iou = tf.reduce_max(iou, axis=1)
    positive = best_iou >= float(iou_threshold)
    matched = tf.gather(image_labels, best, batch_dims=1)  # (R, 5)
    class_labels = tf.where(positive, tf.cast(matched[:, 0], "int32") + 1, 0)
    offsets = offset_boxes(boxes, tf.where(positive[:, None], matched[:, 1:], boxes))
    mask = tf.cast(tf.repeat(positive[:, None], 4, axis=1), "float32")
    return class_labels, offsets * mask, mask


def _has_commas(path):
    with open(path) as f:
        return "," in f.read(4096)
