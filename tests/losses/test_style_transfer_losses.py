"""Style-transfer losses on hand-computed tiny tensors, and against TF built-ins."""

import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.losses.style_transfer_losses import (
    StyleTransferLoss,
    StyleTransferLossParts,
    content_loss,
    gram_matrix,
    style_loss,
    total_variation_loss,
)
from tests.test_case import (
    assert_config_round_trip,
    assert_same_values_and_gradients,
    random_inputs,
)


def test_gram_matrix_by_hand():
    # Two channels over a 1x2 map: channel a = (1, 2), channel b = (3, 4).
    features = np.array([[[[1.0, 3.0], [2.0, 4.0]]]], "float32")  # (1, 1, 2, 2)
    # X = [[1, 2], [3, 4]] (c, h*w); X X^T = [[5, 11], [11, 25]]; c*h*w = 2*1*2 = 4.
    expected = np.array([[5.0, 11.0], [11.0, 25.0]]) / 4.0
    np.testing.assert_allclose(gram_matrix(features), expected, atol=1e-6)


def test_gram_matrix_equals_einsum_in_values_and_gradients():
    x = random_inputs((1, 3, 4, 5))

    def reference(f):
        return tf.einsum("bhwi,bhwj->ij", f, f) / (3 * 4 * 5)

    assert_same_values_and_gradients(gram_matrix, reference, [x])


def test_content_loss_by_hand():
    y_hat = np.array([[[[1.0], [2.0]], [[3.0], [4.0]]]], "float32")
    y = np.zeros_like(y_hat)
    np.testing.assert_allclose(content_loss(y_hat, y), (1 + 4 + 9 + 16) / 4, atol=1e-6)


def test_style_loss_by_hand():
    features = np.array([[[[1.0, 3.0], [2.0, 4.0]]]], "float32")
    target = np.array([[1.0, 2.0], [3.0, 4.0]], "float32")
    gram = np.array([[5.0, 11.0], [11.0, 25.0]]) / 4.0
    expected = np.mean((gram - target) ** 2)
    np.testing.assert_allclose(style_loss(features, target), expected, atol=1e-5)
    assert float(style_loss(features, gram)) == 0.0


def test_total_variation_by_hand_and_equal_to_tf_image():
    image = np.array([[[0.0], [1.0]], [[1.0], [3.0]]], "float32")
    # down: |1-0| + |3-1| = 3; right: |1-0| + |3-1| = 3; total 6
    np.testing.assert_allclose(total_variation_loss(image), 6.0, atol=1e-6)
    batch = random_inputs((2, 5, 6, 3))
    assert_same_values_and_gradients(total_variation_loss, tf.image.total_variation, [batch],
                                     atol=1e-4)


def tiny_objective():
    """Targets and outputs of a 1x2x2 image with one content and one style layer."""
    image = np.array([[[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]],
                       [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]]], "float32")  # TV = 2, 12 values
    features = np.array([[[[1.0, 3.0], [2.0, 4.0]]]], "float32")  # gram [[5, 11], [11, 25]] / 4
    outputs = {"image": image, "content": (features,), "style": (features,)}
    targets = {"content": (np.zeros_like(features),), "style": (np.zeros((2, 2), "float32"),)}
    # content: (1 + 9 + 4 + 16) / 4 = 7.5; style: (25 + 121 + 121 + 625) / 16 / 4 = 13.9375
    return targets, outputs, {"content": 7.5, "style": 13.9375, "tv": 2.0 / 12}


def test_style_transfer_loss_is_the_weighted_sum_by_hand():
    targets, outputs, expected = tiny_objective()
    loss = StyleTransferLoss(content_weight=2.0, style_weight=3.0, tv_weight=5.0)
    parts = {k: float(v) for k, v in loss.components(targets, outputs).items()}
    weighted = {"content": 2.0 * expected["content"], "style": 3.0 * expected["style"],
                "tv": 5.0 * expected["tv"]}
    assert parts == pytest.approx(weighted, rel=1e-6)
    total = loss(targets, outputs)
    assert tuple(total.shape) == (1,)
    np.testing.assert_allclose(total, [sum(weighted.values())], rtol=1e-6)
    with pytest.raises(ValueError, match="tv_weight"):
        StyleTransferLoss(tv_weight=-1.0)


def test_loss_parts_metric_means_over_updates_and_round_trips():
    targets, outputs, expected = tiny_objective()
    metric = StyleTransferLossParts(content_weight=1.0, style_weight=2.0, tv_weight=0.0)
    assert_config_round_trip(metric)
    metric.update_state(targets, outputs)
    moved = dict(outputs, content=(outputs["content"][0] * 0.0,))
    metric.update_state(targets, moved)  # content loss 0 on the second update
    result = {k: float(v) for k, v in metric.result().items()}
    assert result == pytest.approx({"content_loss": expected["content"] / 2,
                                    "style_loss": 2.0 * expected["style"], "tv_loss": 0.0})
    metric.reset_state()
    assert float(metric.result()["style_loss"]) == 0.0
