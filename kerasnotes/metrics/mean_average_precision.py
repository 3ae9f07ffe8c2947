"""VOC-style mean average precision (mAP) of object detections.

`MeanAveragePrecision` accumulates detections and computes the mAP; `detector_map` is the mAP
of a detector on a dataset (kerasnotes.training.callbacks.mean_average_precision logs it
after every epoch).
"""

import numpy as np

from kerasnotes._checks import check_int, check_number


def average_precision(recall, precision):
    """Area under the precision-recall curve with VOC's all-point interpolation.

    For the detections of one class in decreasing score order, with recall `r_k` and
    precision `p_k` after the first `k` detections (PASCAL VOC 2010+ devkit):

        p_interp(r) = max_{k : r_k >= r} p_k
        AP = sum_k (r_k - r_{k-1}) * p_interp(r_k),     r_0 = 0

    i.e. the precision is first made monotonically decreasing from the right, then
    integrated over the recall steps.

    Args:
        recall: 1-D array, non-decreasing.
        precision: 1-D array of the same length.

    Returns:
        the AP, a Python float in `[0, 1]` (0 for empty inputs).

    Example:

    >>> average_precision([0.5, 0.5, 1.0], [1.0, 0.5, 2 / 3])  # 0.5 * 1 + 0.5 * 2/3
    0.8333333333333333
    """
    recall = np.asarray(recall, "float64").reshape(-1)
    precision = np.asarray(precision, "float64").reshape(-1)
    if recall.shape != precision.shape:
        raise ValueError("average_precision: recall and precision must have the same length; "
                         f"received {recall.shape[0]} and {precision.shape[0]}")
    if recall.size == 0:
        return 0.0
    recall = np.concatenate([[0.0], recall, [1.0]])
    precision = np.concatenate([[0.0], precision, [0.0]])
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    steps = np.nonzero(recall[1:] != recall[:-1])[0]
    return float(np.sum((recall[steps + 1] - recall[steps]) * precision[steps + 1]))


def _iou(box, boxes):
    """IoU of one corner box `(4,)` against `(n, 4)` boxes (NumPy, no +1 pixel convention)."""
    width = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    height = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = width * height
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


class MeanAveragePrecision:
    """Accumulates detections over a dataset and computes VOC-style mAP at an IoU threshold.

    For each class `c`: all detections of class `c` over the dataset are taken in
    decreasing score order; a detection is a true positive when its IoU with a
    ground-truth box of class `c` in the same image, not yet matched by a higher-scored
    detection, is the largest and `>= iou_threshold` (VOC devkit's rule: the detection
    is matched to the ground truth of largest IoU; if that one is taken it is a false
    positive); otherwise it is a false positive. Then

        recall_k = TP_k / #ground truths of c,   precision_k = TP_k / k
        AP_c = average_precision(recall, precision)      (all-point interpolation)
        mAP = mean of AP_c over the classes with at least one ground truth

    A class with ground truths but no detection has AP 0; classes with no ground truth are
    left out of the mean (their AP is NaN). No "difficult" flags. Equal scores keep the
    order in which the detections were added.

    This is a plain Python accumulator, not a `keras.metrics.Metric`: its state (every
    detection with its score) grows with the dataset, so it runs outside the graph on
    NumPy arrays, e.g. after `multibox_detection` in an evaluation loop.

    Args:
        num_classes: number of object classes (class ids `0 .. num_classes - 1`).
        iou_threshold: IoU a detection needs to match a ground truth (VOC: 0.5).

    Example:

    >>> metric = MeanAveragePrecision(num_classes=1)
    >>> metric.update(detections=[[[0, 0.9, 0.1, 0.1, 0.5, 0.5]]],
    ...               labels=[[[0, 0.1, 0.1, 0.5, 0.5]]])
    >>> metric.result()["mAP"]
    1.0
    """

    def __init__(self, num_classes, iou_threshold=0.5):
        self.num_classes = check_int("MeanAveragePrecision", "num_classes", num_classes)
        self.iou_threshold = check_number("MeanAveragePrecision", "iou_threshold", iou_threshold,
                                          minimum=0, maximum=1)
        self.reset()

    def reset(self):
        """Forgets every detection and ground truth seen."""
        self._scores = [[] for _ in range(self.num_classes)]
        self._true_positives = [[] for _ in range(self.num_classes)]
        self._num_ground_truths = np.zeros(self.num_classes, "int64")

    def update(self, detections, labels):
        """Adds a batch of images.

        Args:
            detections: `(batch, rows, 6)` rows `(class_id, score, xmin, ymin, xmax, ymax)`
                as `multibox_detection` returns them; rows with class -1 are ignored.
            labels: `(batch, max_objects, 5)` rows `(class, xmin, ymin, xmax, ymax)` in the
                same units as the detections; rows with class -1 are padding.
        """
        detections = np.asarray(detections, "float64")
        labels = np.asarray(labels, "float64")
        if detections.ndim != 3 or detections.shape[-1] != 6:
            raise ValueError("MeanAveragePrecision.update: detections must have shape "
                             "(batch, rows, 6) with rows (class_id, score, xmin, ymin, xmax, "
                             f"ymax); received shape {detections.shape}")
        if labels.ndim != 3 or labels.shape[-1] != 5:
            raise ValueError("MeanAveragePrecision.update: labels must have shape "
                             "(batch, max_objects, 5) with rows (class, xmin, ymin, xmax, "
                             f"ymax); received shape {labels.shape}")
        if detections.shape[0] != labels.shape[0]:
            raise ValueError("MeanAveragePrecision.update: detections and labels must hold "
                             f"the same number of images; received {detections.shape[0]} "
                             f"and {labels.shape[0]}")
        for image_detections, image_labels in zip(detections, labels, strict=True):
            self._update_image(image_detections, image_labels)

    def _update_image(self, detections, labels):
        for row in (labels, detections):
            bad = (row[:, 0] >= self.num_classes) | (np.floor(row[:, 0]) != row[:, 0])
            if np.any(bad):
                raise ValueError(
                    "MeanAveragePrecision.update: class ids must be integers in [-1, "
                    f"{self.num_classes - 1}]; received {row[bad, 0][:5].tolist()}"
                )
        for c in range(self.num_classes):
            truth = labels[labels[:, 0] == c, 1:]
            self._num_ground_truths[c] += len(truth)
            mine = detections[detections[:, 0] == c]
            if not len(mine):
                continue
            mine = mine[np.argsort(-mine[:, 1], kind="stable")]
            taken = np.zeros(len(truth), bool)
            hits = np.zeros(len(mine), bool)
            for k, detection in enumerate(mine):
                if not len(truth):
                    break
                overlaps = _iou(detection[2:], truth)
                best = int(np.argmax(overlaps))
                if overlaps[best] >= self.iou_threshold and not taken[best]:
                    taken[best] = True
                    hits[k] = True
            self._scores[c].extend(mine[:, 1].tolist())
            self._true_positives[c].extend(hits.tolist())

    def result(self):
        """Returns `{"mAP": float, "ap_per_class": float64 array (num_classes,)}`.

        `ap_per_class[c]` is NaN for a class without ground truth; `mAP` is NaN when no
        class has a ground truth.
        """
        ap = np.full(self.num_classes, np.nan)
        for c in range(self.num_classes):
            count = self._num_ground_truths[c]
            if count == 0:
                continue
            scores = np.asarray(self._scores[c], "float64")
            hits = np.asarray(self._true_positives[c], "float64")
            order = np.argsort(-scores, kind="stable")
            true_positives = np.cumsum(hits[order])
            false_positives = np.cumsum(1.0 - hits[order])
            recall = true_positives / count
            precision = true_positives / np.maximum(true_positives + false_positives, 1e-12)
            ap[c] = average_precision(recall, precision)
        valid = ~np.isnan(ap)
        mean = float(np.mean(ap[valid])) if np.any(valid) else float("nan")
        return {"mAP": mean, "ap_per_class": ap}


def detector_map(detect, batches, num_classes, iou_threshold=0.5):
    """The VOC mAP of a detector on a dataset.

    Args:
        detect: images -> `(batch, rows, 6)` detections `(class_id, score, xmin, ymin, xmax,
            ymax)` (a tensor or array), e.g. `TinySSD.detect`.
        batches: iterable of `(images, labels)` batches (tensors), labels `(batch,
            max_objects, 5)` as in `MeanAveragePrecision.update`.
        num_classes: number of object classes.
        iou_threshold: IoU a detection needs to match a ground truth (VOC: 0.5).

    Returns:
        the mAP, a float (NaN when no class has a ground truth).
    """
    metric = MeanAveragePrecision(num_classes, iou_threshold=iou_threshold)
    for images, labels in batches:
        metric.update(np.asarray(detect(images)), np.asarray(labels))
    return metric.result()["mAP"]
