"""Region proposals: from anchors, from arrays/files, and their training targets."""

import numpy as np
import pytest

from kerasnotes.ops.anchors import multibox_prior
from kerasnotes.ops.box_offsets import offset_boxes
from kerasnotes.ops.region_proposals import anchor_proposals, load_proposals, proposal_targets


def test_anchor_proposals_are_pixel_anchors_per_image():
    proposals = anchor_proposals((20, 40), (2, 4), sizes=[0.5, 0.25], ratios=[1.0, 2.0],
                                 batch_size=3).numpy()
    anchors = multibox_prior(2, 4, [0.5, 0.25], [1.0, 2.0]).numpy()
    expected = np.clip(anchors * [40, 20, 40, 20], 0, [40, 20, 40, 20])
    assert proposals.shape == (3 * len(anchors), 5)
    for b in range(3):
        rows = proposals[b * len(anchors):(b + 1) * len(anchors)]
        assert (rows[:, 0] == b).all()
        np.testing.assert_allclose(rows[:, 1:], expected, atol=1e-5)


def test_load_proposals_from_array_and_files(tmp_path):
    rows = np.array([[0, 1, 2, 3, 4], [1, 0, 0, 5.5, 6]], "float32")
    np.testing.assert_array_equal(load_proposals(rows.tolist()), rows)
    np.save(tmp_path / "p.npy", rows)
    np.testing.assert_array_equal(load_proposals(tmp_path / "p.npy", num_images=2), rows)
    (tmp_path / "p.csv").write_text("# b,x1,y1,x2,y2\n0,1,2,3,4\n1,0,0,5.5,6\n")
    np.testing.assert_array_equal(load_proposals(str(tmp_path / "p.csv")), rows)
    (tmp_path / "p.txt").write_text("0 1 2 3 4\n1 0 0 5.5 6\n")
    np.testing.assert_array_equal(load_proposals(str(tmp_path / "p.txt")), rows)


def test_load_proposals_bad_input(tmp_path):
    with pytest.raises(ValueError, match="x2 < x1"):
        load_proposals([[0, 5, 0, 1, 4]])
    with pytest.raises(ValueError, match="y2 < y1"):
        load_proposals([[0, 0, 5, 4, 1]])
    with pytest.raises(ValueError, match=r"batch index 2.0, outside \[0, 2\)"):
        load_proposals([[2, 0, 0, 4, 4]], num_images=2)
    with pytest.raises(ValueError, match="shape \\(R, 5\\)"):
        load_proposals([[0, 0, 0, 4]])
    (tmp_path / "bad.txt").write_text("0 0 0 1 1\n0 0 x 1 1\n")
    with pytest.raises(ValueError, match="bad.txt"):
        load_proposals(str(tmp_path / "bad.txt"))
    with pytest.raises(OSError, match="no proposal file"):
        load_proposals(str(tmp_path / "missing.npy"))


def test_proposal_targets_by_hand():
    proposals = np.array([[0, 0, 0, 16, 16],      # IoU 1 with image 0's box
                          [0, 16, 16, 32, 32],    # no overlap -> background
                          [1, 0, 0, 16, 16],      # image 1: IoU 0.16 / 0.34 = 0.47
                          [1, 0, 0, 32, 32]], "float32")  # IoU 0.25 -> background
    labels = np.array([[[2, 0.0, 0.0, 0.5, 0.5], [-1, 0, 0, 0, 0]],
                       [[0, 0.1, 0.1, 0.6, 0.6], [-1, 0, 0, 0, 0]]], "float32")
    classes, offsets, mask = proposal_targets(proposals, labels, (32, 32), iou_threshold=0.45)
    np.testing.assert_array_equal(classes, [3, 0, 1, 0])
    np.testing.assert_array_equal(mask, [[1] * 4, [0] * 4, [1] * 4, [0] * 4])
    expected = offset_boxes(np.array([[0, 0, 0.5, 0.5]], "float32"),
                            np.array([[0.1, 0.1, 0.6, 0.6]], "float32")).numpy()[0]
    np.testing.assert_allclose(offsets[2], expected, atol=1e-5)
    np.testing.assert_allclose(offsets[0], 0, atol=1e-6)
    np.testing.assert_array_equal(offsets[1], 0)


def test_bad_arguments():
    with pytest.raises(ValueError, match="image_size"):
        anchor_proposals((0, 3), (2, 2), [0.5], [1.0])
    with pytest.raises(ValueError, match="batch_size"):
        anchor_proposals((4, 4), (2, 2), [0.5], [1.0], batch_size=0)
    with pytest.raises(ValueError, match="iou_threshold"):
        proposal_targets([[0, 0, 0, 1, 1]], np.zeros((1, 1, 5)), (4, 4), iou_threshold=2)
