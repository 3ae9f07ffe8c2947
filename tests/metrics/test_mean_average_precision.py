"""VOC-style mAP on hand-made cases whose AP is worked out by hand."""

import numpy as np
import pytest

from kerasnotes.metrics.mean_average_precision import (
    MeanAveragePrecision,
    average_precision,
    detector_map,
)

A = [0.1, 0.1, 0.4, 0.4]
B = [0.5, 0.5, 0.9, 0.9]
FAR = [0.0, 0.6, 0.2, 0.8]


def det(class_id, score, box):
    return [class_id, score, *box]


def gt(class_id, box):
    return [class_id, *box]


PAD_DET = det(-1, 0.99, A)  # background rows are ignored whatever their score
PAD_GT = gt(-1, [0, 0, 0, 0])


def map_of(detections, labels, num_classes=1, **kwargs):
    metric = MeanAveragePrecision(num_classes, **kwargs)
    metric.update(detections, labels)
    return metric.result()


def test_perfect_detection_has_ap_one():
    assert map_of([[det(0, 0.9, A), PAD_DET]], [[gt(0, A), PAD_GT]])["mAP"] == 1.0


def test_false_positive_between_true_positives():
    # Ranked TP, FP, TP over 2 ground truths: precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1.
    # AP = 1/2 * 1 + 1/2 * 2/3 = 5/6.
    result = map_of([[det(0, 0.9, A), det(0, 0.8, FAR), det(0, 0.7, B)]],
                    [[gt(0, A), gt(0, B)]])
    np.testing.assert_allclose(result["mAP"], 5 / 6)
    np.testing.assert_allclose(average_precision([0.5, 0.5, 1.0], [1.0, 0.5, 2 / 3]), 5 / 6)


def test_duplicate_detection_is_a_false_positive():
    # The second box on the same object is a FP, but ranked after the TP: AP 1.
    assert map_of([[det(0, 0.9, A), det(0, 0.8, A)]], [[gt(0, A)]])["mAP"] == 1.0
    # Ranked first, the FP halves the precision at full recall: AP 1/2.
    result = map_of([[det(0, 0.9, FAR), det(0, 0.8, A)]], [[gt(0, A)]])
    np.testing.assert_allclose(result["mAP"], 0.5)


def test_missed_object_and_wrong_class():
    # One of two objects found: AP 1/2. A box of the wrong class does not help.
    np.testing.assert_allclose(
        map_of([[det(0, 0.9, A), det(1, 0.95, B)]], [[gt(0, A), gt(0, B)]],
               num_classes=2)["ap_per_class"][0], 0.5)


def test_mean_over_classes_with_ground_truth_only():
    # Class 0: AP 1. Class 1: FP then TP, AP 1/2. Class 2: detections but no ground truth,
    # left out of the mean.
    result = map_of(
        [[det(0, 0.9, A), det(1, 0.9, FAR), det(1, 0.8, B), det(2, 0.7, A)]],
        [[gt(0, A), gt(1, B), PAD_GT]], num_classes=3)
    np.testing.assert_allclose(result["ap_per_class"][:2], [1.0, 0.5])
    assert np.isnan(result["ap_per_class"][2])
    np.testing.assert_allclose(result["mAP"], 0.75)


def test_ranking_is_over_the_whole_dataset():
    # Image 1: TP at 0.6. Image 2: a FP at 0.9 and its object missed. Ranked FP, TP over 2
    # ground truths: precision 0, 1/2 at recall 0, 1/2 -> AP = 1/2 * 1/2 = 1/4.
    metric = MeanAveragePrecision(1)
    metric.update([[det(0, 0.6, A)]], [[gt(0, A)]])
    metric.update([[det(0, 0.9, FAR)]], [[gt(0, B)]])
    np.testing.assert_allclose(metric.result()["mAP"], 0.25)
    metric.reset()
    assert np.isnan(metric.result()["mAP"])


def test_iou_threshold_is_inclusive():
    whole = [0.0, 0.0, 1.0, 1.0]
    half = [0.0, 0.0, 0.5, 1.0]  # IoU exactly 0.5 with the whole image
    assert map_of([[det(0, 0.9, half)]], [[gt(0, whole)]])["mAP"] == 1.0
    assert map_of([[det(0, 0.9, [0.0, 0.0, 0.49, 1.0])]], [[gt(0, whole)]])["mAP"] == 0.0
    assert map_of([[det(0, 0.9, half)]], [[gt(0, whole)]], iou_threshold=0.75)["mAP"] == 0.0


def test_average_precision_equals_the_definition_on_random_curves():
    rng = np.random.default_rng(0)
    for _ in range(20):
        hits = rng.random(15) < 0.5
        num_gt = hits.sum() + rng.integers(0, 3)
        if num_gt == 0:
            continue
        tp = np.cumsum(hits)
        recall, precision = tp / num_gt, tp / np.arange(1, 16)
        # Definition: sum over recall steps of the best precision at that recall or beyond.
        expected, previous = 0.0, 0.0
        for k in range(15):
            if recall[k] > previous:
                expected += (recall[k] - previous) * precision[k:].max()
                previous = recall[k]
        np.testing.assert_allclose(average_precision(recall, precision), expected, atol=1e-12)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: MeanAveragePrecision(0), "num_classes=0"),
        (lambda: MeanAveragePrecision(2, iou_threshold=1.5), "iou_threshold=1.5"),
        (lambda: MeanAveragePrecision(2).update([[A]], [[gt(0, A)]]), "detections must have"),
        (lambda: MeanAveragePrecision(2).update([[det(0, 1, A)]], [A]), "labels must have"),
        (lambda: MeanAveragePrecision(2).update([[det(5, 1, A)]], [[gt(0, A)]]), "class ids"),
        (lambda: MeanAveragePrecision(2).update([[det(0, 1, A)]] * 2, [[gt(0, A)]]),
         "same number of images"),
        (lambda: average_precision([0.5], [1.0, 0.5]), "same length"),
    ],
)
def test_bad_input(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def two_batches_and_a_detector():
    """Two batches of one image each (image i is filled with i) and a detector of them:
    image 0 found exactly, image 1 found at the wrong place (AP 0.5 over the 2 objects)."""
    import tensorflow as tf

    batches = [(tf.fill((1, 2, 2, 3), float(i)), tf.constant([[gt(0, A)]])) for i in (0, 1)]
    found = {0: [[det(0, 0.9, A)]], 1: [[det(0, 0.8, FAR)]]}
    return batches, lambda images: tf.constant(found[int(images[0, 0, 0, 0])], tf.float32)


def test_detector_map_is_the_map_of_every_batch_together():
    batches, detect = two_batches_and_a_detector()
    expected = MeanAveragePrecision(1)
    for images, labels in batches:
        expected.update(detect(images).numpy(), labels.numpy())
    assert detector_map(detect, batches, num_classes=1) == expected.result()["mAP"] == 0.5
