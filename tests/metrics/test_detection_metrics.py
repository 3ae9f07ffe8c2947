"""d2l's class error and box MAE metrics against NumPy."""

import numpy as np
import pytest

from kerasnotes.metrics.detection_metrics import AnchorClassError, BoxOffsetMAE
from tests.test_case import random_inputs


def test_class_error_and_box_mae_equal_numpy_over_batches():
    rng = np.random.default_rng(0)
    class_error, box_mae = AnchorClassError(), BoxOffsetMAE()
    wrong = total = error = entries = 0.0
    for seed in range(3):
        labels = rng.integers(0, 3, (2, 7))
        logits = random_inputs((2, 7, 3), seed=seed)
        mask = np.repeat(labels > 0, 4, axis=1).astype("float32")
        target = random_inputs((2, 28), seed=seed + 10)
        offsets = random_inputs((2, 28), seed=seed + 20)
        y_true = {"class_labels": labels, "bbox_offsets": target, "bbox_mask": mask}
        y_pred = {"class_logits": logits, "bbox_offsets": offsets}
        class_error.update_state(y_true, y_pred)
        box_mae.update_state(y_true, y_pred)
        wrong += np.sum(logits.argmax(-1) != labels)
        total += labels.size
        error += np.sum(np.abs(mask * (target - offsets)))
        entries += target.size
    np.testing.assert_allclose(float(class_error.result()), wrong / total, atol=1e-6)
    np.testing.assert_allclose(float(box_mae.result()), error / entries, atol=1e-6)
    class_error.reset_state()
    assert float(class_error.result()) == 0.0


def test_hand_worked_values_and_sample_weight():
    metric = AnchorClassError()
    metric.update_state({"class_labels": [[0, 1]]}, {"class_logits": [[[1.0, 0.0], [1.0, 0.0]]]})
    assert float(metric.result()) == 0.5
    metric = BoxOffsetMAE()
    metric.update_state({"bbox_offsets": [[1.0, 2.0], [3.0, 3.0]], "bbox_mask": [[1.0, 0.0]] * 2},
                        {"bbox_offsets": [[0.0, 0.0]] * 2}, sample_weight=[1.0, 0.0])
    assert float(metric.result()) == 0.5
    config = metric.get_config()
    assert BoxOffsetMAE.from_config(config).get_config() == config


def test_bad_input():
    with pytest.raises(ValueError, match="class_error: y_pred must be a dict"):
        AnchorClassError().update_state({"class_labels": [[0]]}, [[[0.0, 1.0]]])
    with pytest.raises(ValueError, match="bbox_mask"):
        BoxOffsetMAE().update_state({"bbox_offsets": [[0.0]]}, {"bbox_offsets": [[0.0]]})
