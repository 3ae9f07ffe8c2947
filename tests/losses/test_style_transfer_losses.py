"""Style-transfer losses on hand-computed tiny tensors, and against TF built-ins."""

import numpy as np
import tensorflow as tf

from kerasnotes.losses.style_transfer_losses import (
    content_loss,
    gram_matrix,
    style_loss,
    total_variation_loss,
)
from tests.test_case import assert_same_values_and_gradients, random_inputs


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
