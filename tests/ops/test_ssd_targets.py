"""ssd_targets: multibox_target as the dict the SSD loss takes, inside tf.data too."""

import numpy as np
import tensorflow as tf

from kerasnotes.ops.anchor_matching import multibox_target
from kerasnotes.ops.ssd_targets import ssd_targets

ANCHORS = [[0.0, 0.1, 0.2, 0.3], [0.15, 0.2, 0.4, 0.4], [0.63, 0.05, 0.88, 0.98],
           [0.66, 0.45, 0.8, 0.8], [0.57, 0.3, 0.92, 0.9]]
LABELS = [[[0, 0.1, 0.08, 0.52, 0.92], [1, 0.55, 0.2, 0.9, 0.88], [-1, 0, 0, 0, 0]]]


def test_targets_are_multibox_target_as_a_dict():
    targets = ssd_targets(ANCHORS, LABELS)
    offsets, mask, classes = multibox_target(ANCHORS, LABELS)
    np.testing.assert_array_equal(targets["class_labels"], [[0, 1, 2, 0, 2]])
    np.testing.assert_array_equal(targets["bbox_offsets"], offsets)
    np.testing.assert_array_equal(targets["bbox_mask"], mask)
    assert targets["class_labels"].dtype == tf.int32
    assert targets["bbox_offsets"].dtype == tf.float32


def test_runs_in_a_tf_data_map():
    labels = tf.constant(LABELS * 4, tf.float32)
    dataset = tf.data.Dataset.from_tensor_slices(labels).batch(2)
    batches = list(dataset.map(lambda y: ssd_targets(ANCHORS, y)))
    assert len(batches) == 2
    np.testing.assert_array_equal(batches[1]["class_labels"], [[0, 1, 2, 0, 2]] * 2)
