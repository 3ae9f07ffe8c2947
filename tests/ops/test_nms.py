import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.ops.nms import multibox_detection, nms

# d2l's NMS example: four anchors of a dog and a cat, zero offsets.
ANCHORS = np.array([[0.1, 0.08, 0.52, 0.92], [0.08, 0.2, 0.56, 0.95],
                    [0.15, 0.3, 0.62, 0.91], [0.55, 0.2, 0.9, 0.88]], "float32")
# d2l's cls_probs rows are (background, dog, cat) over the anchors; ours is channels-last.
CLS_PROBS = np.array([[0.0] * 4, [0.9, 0.8, 0.7, 0.1], [0.1, 0.2, 0.3, 0.9]], "float32").T[None]
OFFSETS = np.zeros((1, 16), "float32")


def random_boxes(rng, n, min_size=0.01, max_size=0.3):
    xy = rng.uniform(0.0, 1.0, (n, 2))
    wh = rng.uniform(min_size, max_size, (n, 2))
    return np.concatenate([xy, xy + wh], axis=-1).astype("float32")


def numpy_iou(box, boxes):
    wh = np.clip(np.minimum(box[2:], boxes[:, 2:]) - np.maximum(box[:2], boxes[:, :2]), 0, None)
    inter = wh[:, 0] * wh[:, 1]
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    union = area(box) + area(boxes) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0)


def numpy_nms(boxes, scores, threshold):
    """The notes' loop: keep the best remaining box, drop those overlapping it, repeat."""
    order = list(np.argsort(-scores, kind="stable"))
    keep = []
    while order:
        best = order.pop(0)
        keep.append(best)
        ious = numpy_iou(boxes[best], boxes[order]) if order else np.zeros(0)
        order = [i for i, iou in zip(order, ious, strict=True) if iou <= threshold]
    return np.array(keep, "int32")


def numpy_multibox_detection(cls_probs, offset_preds, anchors, nms_threshold=0.5,
                             pos_threshold=0.009999999):
    """d2l's multibox_detection, one image at a time, channels-last probabilities."""
    out = []
    for probs, offsets in zip(cls_probs, offset_preds, strict=True):
        offsets = offsets.reshape(-1, 4).astype("float64")
        conf, class_id = probs[:, 1:].max(axis=1), probs[:, 1:].argmax(axis=1).astype("float64")
        anchor_c = np.concatenate([(anchors[:, :2] + anchors[:, 2:]) / 2,
                                   anchors[:, 2:] - anchors[:, :2]], axis=1)
        center = anchor_c[:, :2] + offsets[:, :2] * 0.1 * anchor_c[:, 2:]
        size = anchor_c[:, 2:] * np.exp(offsets[:, 2:] * 0.2)
        boxes = np.concatenate([center - size / 2, center + size / 2], axis=1)
        keep = numpy_nms(boxes, conf, nms_threshold)
        non_keep = np.array([i for i in range(len(conf)) if i not in set(keep)], "int32")
        order = np.concatenate([keep, non_keep]).astype("int32")
        class_id[non_keep] = -1
        class_id, conf, boxes = class_id[order], conf[order], boxes[order]
        below = conf < pos_threshold
        class_id[below] = -1
        conf = np.where(below, 1 - conf, conf)
        out.append(np.concatenate([class_id[:, None], conf[:, None], boxes], axis=1))
    return np.stack(out)


def random_predictions(rng, batch, num_anchors, num_classes):
    probs = rng.dirichlet(np.ones(num_classes + 1), size=(batch, num_anchors)).astype("float32")
    offsets = rng.normal(0.0, 0.5, (batch, num_anchors * 4)).astype("float32")
    return probs, offsets, random_boxes(rng, num_anchors, 0.05, 0.4)


def test_nms_hand_example():
    boxes = [[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.9, 1.0], [2.0, 2.0, 3.0, 3.0]]
    np.testing.assert_array_equal(nms(boxes, [0.6, 0.9, 0.5], 0.5).numpy(), [1, 2])
    np.testing.assert_array_equal(nms(boxes, [0.6, 0.9, 0.5], 0.95).numpy(), [1, 0, 2])
    # d2l: the dog/cat anchors with their top scores keep anchors 0 and 3.
    np.testing.assert_array_equal(nms(ANCHORS, [0.9, 0.8, 0.7, 0.9], 0.5).numpy(), [0, 3])


@pytest.mark.parametrize("seed, threshold", [(0, 0.5), (1, 0.3), (2, 0.7), (3, 0.0)])
def test_nms_equals_tf_image_non_max_suppression(seed, threshold):
    rng = np.random.default_rng(seed)
    boxes, scores = random_boxes(rng, 300), rng.uniform(size=300).astype("float32")
    ours = nms(boxes, scores, threshold).numpy()
    expected = tf.image.non_max_suppression(boxes, scores, 300, threshold).numpy()
    np.testing.assert_array_equal(ours, expected)
    np.testing.assert_array_equal(ours, numpy_nms(boxes, scores, threshold))
    limited = nms(boxes, scores, threshold, max_output_size=10).numpy()
    np.testing.assert_array_equal(limited, expected[:10])


def test_nms_iou_equal_to_threshold_is_kept_like_tf():
    boxes = np.array([[0.0, 0.0, 2.0, 1.0], [0.0, 0.0, 1.0, 1.0]], "float32")  # IoU 0.5
    scores = np.array([0.9, 0.8], "float32")
    np.testing.assert_array_equal(nms(boxes, scores, 0.5).numpy(), [0, 1])
    np.testing.assert_array_equal(tf.image.non_max_suppression(boxes, scores, 2, 0.5), [0, 1])


def test_nms_in_tf_function_with_unknown_size():
    fn = tf.function(lambda b, s: nms(b, s, 0.5),
                     input_signature=[tf.TensorSpec((None, 4)), tf.TensorSpec((None,))])
    rng = np.random.default_rng(4)
    boxes, scores = random_boxes(rng, 50), rng.uniform(size=50).astype("float32")
    np.testing.assert_array_equal(fn(boxes, scores).numpy(), numpy_nms(boxes, scores, 0.5))
    assert fn(tf.zeros((0, 4)), tf.zeros((0,))).shape == (0,)


@pytest.mark.parametrize("implementation", ["scratch", "fused"])
def test_multibox_detection_d2l_hand_example(implementation):
    out = multibox_detection(CLS_PROBS, OFFSETS, ANCHORS, implementation=implementation).numpy()
    expected = [[0.0, 0.9, 0.1, 0.08, 0.52, 0.92],
                [1.0, 0.9, 0.55, 0.2, 0.9, 0.88],
                [-1.0, 0.8, 0.08, 0.2, 0.56, 0.95],
                [-1.0, 0.7, 0.15, 0.3, 0.62, 0.91]]
    np.testing.assert_allclose(out, [expected], atol=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_multibox_detection_matches_numpy_reference(seed):
    rng = np.random.default_rng(seed)
    probs, offsets, anchors = random_predictions(rng, 2, 60, 3)
    probs[:, :8] = [0.99, 0.004, 0.003, 0.003]  # some anchors below pos_threshold
    expected = numpy_multibox_detection(probs, offsets, anchors)
    for implementation in ("scratch", "fused"):
        out = multibox_detection(probs, offsets, anchors, implementation=implementation).numpy()
        for image, reference in zip(out, expected, strict=True):
            # The detections are the same rows in the same (score) order, first in both.
            count = int((reference[:, 0] >= 0).sum())
            assert 0 < count < len(reference)
            np.testing.assert_array_equal(image[:count, 0], reference[:count, 0])
            np.testing.assert_allclose(image[:count, 1:], reference[:count, 1:], atol=1e-5)
            assert np.all(image[count:, 0] == -1)
            # d2l orders its background rows differently; as sets they are equal.
            sort = lambda rows: rows[np.lexsort(np.round(rows, 5).T[::-1])]
            np.testing.assert_allclose(sort(image[count:]), sort(reference[count:]), atol=1e-5)


def test_background_rows_follow_detections_in_anchor_order():
    # Anchor 1 is suppressed by anchor 0; anchor 2 is below pos_threshold; anchor 3 detects.
    anchors = np.array([[0.0, 0.0, 0.5, 0.5], [0.0, 0.0, 0.5, 0.55], [0.6, 0.6, 0.7, 0.7],
                        [0.6, 0.0, 0.9, 0.3]], "float32")
    probs = np.array([[[0.1, 0.9, 0.0], [0.2, 0.8, 0.0], [0.995, 0.005, 0.0],
                       [0.3, 0.0, 0.7]]], "float32")
    for implementation in ("scratch", "fused"):
        out = multibox_detection(probs, np.zeros((1, 16), "float32"), anchors,
                                 implementation=implementation).numpy()
        np.testing.assert_allclose(out[0, :, :2], [[0, 0.9], [1, 0.7], [-1, 0.8], [-1, 0.995]],
                                   atol=1e-6)
        np.testing.assert_allclose(out[0, 2:, 2:], anchors[1:3], atol=1e-6)


def test_pos_threshold_makes_background_with_one_minus_score():
    probs = np.array([[[0.98, 0.005, 0.015], [0.1, 0.9, 0.0]]], "float32")
    anchors = np.array([[0.0, 0.0, 0.2, 0.2], [0.5, 0.5, 0.9, 0.9]], "float32")
    out = multibox_detection(probs, np.zeros((1, 8), "float32"), anchors,
                             pos_threshold=0.05).numpy()
    np.testing.assert_allclose(out[0, :, :2], [[0.0, 0.9], [-1.0, 0.985]], atol=1e-6)


@pytest.mark.parametrize("per_class", [False, True])
def test_fused_path_equals_scratch_path_in_tf_function(per_class):
    rng = np.random.default_rng(5)
    probs, offsets, anchors = random_predictions(rng, 3, 200, 4)
    detect = tf.function(multibox_detection)
    for max_detections in (None, 15):
        scratch = detect(probs, offsets, anchors, per_class=per_class,
                         max_detections=max_detections).numpy()
        fast = detect(probs, offsets, anchors, per_class=per_class,
                      max_detections=max_detections, implementation="fused").numpy()
        np.testing.assert_array_equal(scratch, fast)
        assert scratch.shape == (3, max_detections or 200, 6)


def test_per_class_nms_keeps_overlapping_boxes_of_different_classes():
    anchors = np.array([[0.0, 0.0, 0.5, 0.5], [0.0, 0.0, 0.5, 0.55]], "float32")
    probs = np.array([[[0.0, 0.9, 0.1], [0.0, 0.2, 0.8]]], "float32")
    zeros = np.zeros((1, 8), "float32")
    agnostic = multibox_detection(probs, zeros, anchors).numpy()
    np.testing.assert_array_equal(agnostic[0, :, 0], [0, -1])
    per_class = multibox_detection(probs, zeros, anchors, per_class=True).numpy()
    np.testing.assert_array_equal(per_class[0, :, 0], [0, 1])


def test_max_detections_truncates_and_pads():
    out = multibox_detection(CLS_PROBS, OFFSETS, ANCHORS, max_detections=1).numpy()
    np.testing.assert_allclose(out, [[[0.0, 0.9, 0.1, 0.08, 0.52, 0.92]]], atol=1e-6)
    out = multibox_detection(CLS_PROBS, OFFSETS, ANCHORS, max_detections=6).numpy()
    assert out.shape == (1, 6, 6)
    np.testing.assert_array_equal(out[0, 4:], [[-1, 0, 0, 0, 0, 0]] * 2)


def test_anchors_with_d2l_leading_axis_and_unknown_batch():
    detect = tf.function(multibox_detection, input_signature=[
        tf.TensorSpec((None, 4, 3)), tf.TensorSpec((None, 16)), tf.TensorSpec((1, 4, 4))])
    out = detect(np.concatenate([CLS_PROBS] * 2), np.zeros((2, 16), "float32"), ANCHORS[None])
    np.testing.assert_array_equal(out.numpy()[:, :, 0], [[0, 1, -1, -1]] * 2)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: nms(np.zeros((3, 5)), np.zeros(3), 0.5), r"boxes must have shape .*\(3, 5\)"),
        (lambda: nms(np.zeros((3, 4)), np.zeros(4), 0.5), r"scores must have one value per box"),
        (lambda: nms(np.zeros((3, 4)), np.zeros(3), 1.2), r"iou_threshold must be in \[0, 1\]"),
        (lambda: nms(np.zeros((3, 4)), np.zeros(3), 0.5, max_output_size=0), "max_output_size"),
        (lambda: multibox_detection(CLS_PROBS[0], OFFSETS, ANCHORS), r"cls_probs .*\(4, 3\)"),
        (lambda: multibox_detection(CLS_PROBS, np.zeros((1, 12)), ANCHORS),
         r"offset_preds must have shape \(batch, 16\)"),
        (lambda: multibox_detection(CLS_PROBS, OFFSETS, ANCHORS[:3]), "anchors has 3"),
        (lambda: multibox_detection(CLS_PROBS, OFFSETS, ANCHORS[:, :2]), r"anchors .*\(4, 2\)"),
        (lambda: multibox_detection(CLS_PROBS, OFFSETS, ANCHORS, max_detections=0),
         "max_detections"),
        (lambda: multibox_detection(CLS_PROBS, OFFSETS, ANCHORS, implementation=True),
         r"implementation must be one of \('scratch', 'fused'\); received implementation=True"),
    ],
)
def test_bad_input_raises_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
