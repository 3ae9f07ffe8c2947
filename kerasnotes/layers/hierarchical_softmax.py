"""Hierarchical softmax: P(w | context) as a product of sigmoids along a Huffman tree.

Its training loss, `HierarchicalSoftmaxLoss`, is in
`kerasnotes/losses/hierarchical_softmax_loss.py`.
"""

import keras
import numpy as np
from keras import ops

from kerasnotes.ops.huffman_tree import huffman_tree


@keras.saving.register_keras_serializable(package="kerasnotes")
class HierarchicalSoftmax(keras.layers.Layer):
    """Hierarchical softmax loss layer: `-log P(w | h)` over a Huffman tree of the words.

    The notes name it as the other approximate training besides negative sampling. Each of
    the `V - 1` inner nodes `n` of the Huffman tree (`huffman_tree(word_counts)`) owns a
    vector `u_n`; a word `w` is reached from the root by the path `n_1, ..., n_L(w)` with
    codes `d_j` (0 left, 1 right). With the hidden vector `h` (skip-gram: the center's
    `v_c`; CBOW: the mean of the context vectors `v_o`):

        P(w | h) = prod_{j=1..L(w)} sigma(s_j * u_{n_j}^T h),   s_j = +1 if d_j = 0 else -1

    and, since `sigma(x) + sigma(-x) = 1` at every node, `sum_w P(w | h) = 1` without any
    sum over the vocabulary: a step costs `O(log V)` instead of `O(V)`. The layer returns
    the loss `-log P(w | h) = sum_j softplus(-s_j u_{n_j}^T h)` of each target word.

    Args:
        word_counts: `(V,)` counts of the words (they shape the tree), `V >= 2`.
        embeddings_initializer: initializer of the `(V - 1, d)` inner-node vectors.

    Call arguments:
        inputs: `[hidden, targets]`: float `(b, d)` and int `(b, m)` word ids.

    Returns:
        float `(b, m)`: `-log P(targets | hidden)`.

    Example:

    >>> layer = HierarchicalSoftmax(word_counts=[5, 1, 1, 3])
    >>> nll = layer([np.ones((2, 8), "float32"), np.array([[0, 3], [1, 2]])])  # (2, 2)
    >>> ops.sum(ops.exp(layer.log_probabilities(np.ones((2, 8), "float32"))), -1)  # [1, 1]
    """

    def __init__(self, word_counts, embeddings_initializer="uniform", **kwargs):
        super().__init__(**kwargs)
        counts = np.asarray(word_counts, dtype=np.float64)
        if counts.ndim != 1 or counts.size < 2 or np.any(counts < 0):
            raise ValueError(
                "HierarchicalSoftmax: word_counts must be a 1-D list of >= 2 non-negative "
                f"counts; received shape {counts.shape}"
            )
        self.word_counts = [int(c) if float(c).is_integer() else float(c) for c in counts]
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)
        paths, codes, lengths = huffman_tree(counts)
        depth = paths.shape[1]
        self.vocabulary_size = counts.size
        self.depth = depth
        self._paths = paths
        self._signs = (1.0 - 2.0 * codes).astype("float32")
        self._path_mask = (np.arange(depth)[None, :] < lengths[:, None]).astype("float32")

    def build(self, input_shape):
        hidden_shape = input_shape[0]
        self.node_embeddings = self.add_weight(
            shape=(self.vocabulary_size - 1, int(hidden_shape[-1])),
            initializer=self.embeddings_initializer,
            name="node_embeddings",
        )

    def _negative_log_likelihood(self, hidden, targets):
        # hidden (b, d); targets (b, m) -> (b, m)
        targets = ops.cast(targets, "int32")
        nodes = ops.take(ops.convert_to_tensor(self._paths), targets, axis=0)  # (b, m, D)
        signs = ops.take(ops.convert_to_tensor(self._signs), targets, axis=0)
        mask = ops.take(ops.convert_to_tensor(self._path_mask), targets, axis=0)
        vectors = ops.take(self.node_embeddings, nodes, axis=0)  # (b, m, D, d)
        logits = ops.einsum("bmkd,bd->bmk", vectors, hidden)
        signs, mask = ops.cast(signs, logits.dtype), ops.cast(mask, logits.dtype)  # bf16 too
        return ops.sum(ops.softplus(-signs * logits) * mask, axis=-1)

    def call(self, inputs):
        hidden, targets = inputs
        return self._negative_log_likelihood(hidden, targets)

    def log_probabilities(self, hidden):
        """`log P(w | hidden)` for every word of the vocabulary: `(b, d) -> (b, V)`."""
        hidden = ops.convert_to_tensor(hidden)
        if not self.built:
            self.build([hidden.shape, (None, 1)])
        logits = ops.einsum("vkd,bd->bvk", ops.take(self.node_embeddings,
                                                     ops.convert_to_tensor(self._paths), axis=0),
                            hidden)
        signs = ops.cast(ops.convert_to_tensor(self._signs)[None], logits.dtype)
        mask = ops.cast(ops.convert_to_tensor(self._path_mask)[None], logits.dtype)
        return -ops.sum(ops.softplus(-signs * logits) * mask, axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[1])

    def get_config(self):
        config = super().get_config()
        config.update({
            "word_counts": self.word_counts,
            "embeddings_initializer": keras.initializers.serialize(self.embeddings_initializer),
        })
        return config

