"""Huffman tree and hierarchical softmax: paths, codes, probabilities summing to 1."""

import heapq

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.layers.hierarchical_softmax import HierarchicalSoftmax
from kerasnotes.losses.hierarchical_softmax_loss import HierarchicalSoftmaxLoss
from kerasnotes.ops.huffman_tree import huffman_tree
from tests.test_case import (
    assert_config_round_trip,
    assert_keras_save_load,
    assert_same_values_and_gradients,
    assert_trains_one_step,
    random_inputs,
)

COUNTS = [120, 60, 31, 30, 12, 7, 7, 3, 1, 1, 0]


def test_huffman_tree_is_a_prefix_code_of_optimal_length():
    paths, codes, lengths = huffman_tree(COUNTS)
    words = [tuple(codes[w, :lengths[w]]) for w in range(len(COUNTS))]
    assert len(set(words)) == len(COUNTS)
    for a in words:  # prefix-free: no code starts another one
        assert not any(b != a and b[:len(a)] == a for b in words)
    # Kraft equality of a full binary tree, and the paths share the root.
    assert sum(2.0 ** -length for length in lengths) == pytest.approx(1.0)
    assert (paths[:, 0] == len(COUNTS) - 2).all()
    # The expected code length equals that of the Huffman merge costs (optimality).
    heap = list(map(float, COUNTS))
    heapq.heapify(heap)
    cost = 0.0
    while len(heap) > 1:
        merged = heapq.heappop(heap) + heapq.heappop(heap)
        cost += merged
        heapq.heappush(heap, merged)
    assert float(np.dot(lengths, COUNTS)) == pytest.approx(cost)
    # Two words that share a path prefix go through the same inner nodes.
    assert lengths[0] <= lengths[-1]
    with pytest.raises(ValueError, match="at least 2"):
        huffman_tree([3])


def numpy_negative_log_likelihood(node_vectors, paths, codes, lengths, hidden, targets):
    out = np.zeros(targets.shape)
    for b in range(targets.shape[0]):
        for m in range(targets.shape[1]):
            w = targets[b, m]
            p = 1.0
            for j in range(lengths[w]):
                x = node_vectors[paths[w, j]] @ hidden[b]
                p *= 1 / (1 + np.exp(-x)) if codes[w, j] == 0 else 1 / (1 + np.exp(x))
            out[b, m] = -np.log(p)
    return out


def test_layer_matches_the_product_of_sigmoids_along_the_path():
    layer = HierarchicalSoftmax(COUNTS, embeddings_initializer=keras.initializers.RandomNormal(
        stddev=0.5, seed=1))
    hidden = random_inputs((3, 6), seed=2)
    targets = np.array([[0, 5, 10], [3, 8, 1], [9, 9, 2]])
    nll = np.array(layer([hidden, targets]))
    paths, codes, lengths = huffman_tree(COUNTS)
    expected = numpy_negative_log_likelihood(np.array(layer.node_embeddings), paths, codes,
                                             lengths, hidden.astype(np.float64), targets)
    np.testing.assert_allclose(nll, expected, atol=1e-5)


def test_probabilities_over_the_vocabulary_sum_to_one():
    layer = HierarchicalSoftmax(COUNTS, embeddings_initializer=keras.initializers.RandomNormal(
        stddev=1.0, seed=3))
    hidden = random_inputs((4, 5), seed=4)
    log_p = layer.log_probabilities(hidden)
    np.testing.assert_allclose(np.exp(np.array(log_p, np.float64)).sum(-1), 1.0, atol=1e-5)
    all_words = np.tile(np.arange(len(COUNTS)), (4, 1))
    np.testing.assert_allclose(-np.array(layer([hidden, all_words])), np.array(log_p), atol=1e-6)


def test_gradients_match_the_binary_cross_entropy_form():
    # -log P(w|h) = sum over the path of the binary cross-entropy with label 1 - code.
    layer = HierarchicalSoftmax(COUNTS)
    hidden = random_inputs((2, 4), seed=5)
    targets = np.array([[1, 7], [10, 0]])
    layer.build([hidden.shape, targets.shape])
    paths, codes, lengths = huffman_tree(COUNTS)
    mask = (np.arange(paths.shape[1]) < lengths[:, None]).astype("float32")

    def reference(h):
        vectors = tf.gather(layer.node_embeddings, paths[targets])  # (b, m, D, d)
        logits = tf.einsum("bmkd,bd->bmk", vectors, h)
        bce = tf.nn.sigmoid_cross_entropy_with_logits(
            labels=tf.constant(1.0 - codes[targets], tf.float32), logits=logits)
        return tf.reduce_sum(bce * mask[targets], axis=-1)

    assert_same_values_and_gradients(lambda h: layer([h, targets]), reference, [hidden],
                                     [layer.node_embeddings], [layer.node_embeddings])


def test_layer_checks(tmp_path):
    layer = HierarchicalSoftmax(COUNTS, name="hs")
    hidden = keras.Input((4,))
    targets = keras.Input((3,), dtype="int32")
    model = keras.Model([hidden, targets], layer([hidden, targets]))
    inputs = [random_inputs((2, 4)), np.array([[1, 2, 3], [0, 9, 10]], "int32")]
    assert_config_round_trip(layer)
    assert tuple(model.output_shape) == (None, 3)
    assert_trains_one_step(model, inputs)
    assert_keras_save_load(model, inputs, tmp_path)


def test_loss_averages_over_valid_targets():
    nll = np.array([[[0.5, 2.0, 9.0]], [[1.0, 1.0, 1.0]]], "float32")
    mask = np.array([[[1, 1, 0]], [[0, 0, 0]]], "float32")
    per_example = HierarchicalSoftmaxLoss(reduction=None)(mask, nll)
    np.testing.assert_allclose(np.array(per_example), [[1.25], [0.0]], atol=1e-6)
    stacked = np.stack([mask, mask], -1)
    np.testing.assert_allclose(np.array(HierarchicalSoftmaxLoss()(stacked, nll)), 0.625,
                               atol=1e-6)
    with pytest.raises(ValueError, match="y_true"):
        HierarchicalSoftmaxLoss()(np.zeros((2, 3, 4)), nll[:, 0])


def test_loss_keeps_its_registered_name_and_is_exported_from_losses():
    import kerasnotes.losses

    assert kerasnotes.losses.HierarchicalSoftmaxLoss is HierarchicalSoftmaxLoss
    assert keras.saving.get_registered_name(HierarchicalSoftmaxLoss) == (
        "kerasnotes>HierarchicalSoftmaxLoss")
    assert keras.saving.get_registered_object("kerasnotes>HierarchicalSoftmaxLoss") is (
        HierarchicalSoftmaxLoss)
    restored = keras.losses.deserialize(keras.losses.serialize(HierarchicalSoftmaxLoss()))
    assert type(restored) is HierarchicalSoftmaxLoss
    assert restored.name == "hierarchical_softmax_loss"


def test_bad_counts():
    with pytest.raises(ValueError, match="word_counts"):
        HierarchicalSoftmax([5])
    with pytest.raises(ValueError, match="word_counts"):
        HierarchicalSoftmax([5, -1, 2])
