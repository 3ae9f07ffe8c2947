"""The continuous bag-of-words (CBOW) word2vec model: the context words predict the center."""

import keras
from keras import ops

from kerasnotes.layers.hierarchical_softmax import HierarchicalSoftmax
from kerasnotes.models.skip_gram import check_word2vec_arguments


@keras.saving.register_keras_serializable(package="kerasnotes")
class CBOW(keras.Model):
    """CBOW: the averaged context vectors predict the center word.

    The notes: given the context words `w_{o_1} .. w_{o_2m}`, the center `w_c` has
    probability `softmax(u_c^T v_bar_o)` with `v_bar_o = (v_{o_1} + ... + v_{o_2m}) / 2m`.
    `context_embedding` holds the context vectors `v` (the word vectors used afterwards),
    `center_embedding` the center vectors `u`. Padded context positions (mask 0) are left
    out of the mean.

    - `output="negative_sampling"`: the center and its `K` noise words `(b, 1+K)` are
      scored with the same batched product as skip-gram,
      `(b, 1, d) x (b, d, 1+K) -> (b, 1, 1+K)`: logits of `sigma(u^T v_bar_o)`, trained
      with `MaskedBinaryCrossEntropy` (label 1 for the center, 0 for noise words).
    - `output="hierarchical_softmax"`: returns `-log P(w_c | v_bar_o)` of the target ids,
      `(b, 1, m)`, trained with `HierarchicalSoftmaxLoss`.

    Args:
        vocabulary_size: `V`, number of words.
        embedding_dim: `d`, length of the word vectors.
        output: "negative_sampling" or "hierarchical_softmax".
        word_counts: `(V,)` word counts; required for hierarchical softmax.

    Call arguments:
        inputs: `(contexts, context_masks, targets)`: int `(b, 2n)`, float `(b, 2n)` and
            int `(b, m)` (the center then its noise words; or the center only).

    Returns:
        float `(b, 1, m)`: logits (negative sampling) or `-log P` (hierarchical softmax).

    Example:

    >>> model = CBOW(vocabulary_size=20, embedding_dim=8)
    >>> model((np.array([[3, 4, 0]]), np.array([[1.0, 1.0, 0.0]]), np.array([[5, 9, 2]]))).shape
    TensorShape([1, 1, 3])
    """

    def __init__(self, vocabulary_size, embedding_dim=100, output="negative_sampling",
                 word_counts=None, **kwargs):
        kwargs.setdefault("name", "cbow")
        super().__init__(**kwargs)
        self.word_counts = check_word2vec_arguments(
            "CBOW", vocabulary_size, embedding_dim, output, word_counts)
        self.vocabulary_size = int(vocabulary_size)
        self.embedding_dim = int(embedding_dim)
        self.output_type = output
        self.context_embedding = keras.layers.Embedding(
            self.vocabulary_size, self.embedding_dim, name="context_embedding")
        if output == "negative_sampling":
            self.center_embedding = keras.layers.Embedding(
                self.vocabulary_size, self.embedding_dim, name="center_embedding")
        else:
            self.hierarchical_softmax = HierarchicalSoftmax(
                self.word_counts, name="hierarchical_softmax")

    def build(self, input_shape=None):
        self.context_embedding.build((None, None))
        if self.output_type == "negative_sampling":
            self.center_embedding.build((None, None))
        else:
            self.hierarchical_softmax.build([(None, self.embedding_dim), (None, None)])
        self.built = True

    def call(self, inputs):
        contexts, context_masks, targets = inputs
        v = self.context_embedding(contexts)  # (b, 2n, d)
        mask = ops.cast(context_masks, v.dtype)[:, :, None]
        v_bar = ops.divide_no_nan(ops.sum(v * mask, axis=1, keepdims=True),
                                  ops.sum(mask, axis=1, keepdims=True))  # (b, 1, d)
        if self.output_type == "negative_sampling":
            u = self.center_embedding(targets)  # (b, m, d)
            return ops.matmul(v_bar, ops.transpose(u, (0, 2, 1)))  # (b, 1, m)
        return self.hierarchical_softmax([v_bar[:, 0, :], targets])[:, None, :]

    @property
    def word_vectors(self):
        """The `(V, d)` word vectors: the context vectors `v`."""
        return self.context_embedding.embeddings

    def get_config(self):
        return {
            "name": self.name,
            "vocabulary_size": self.vocabulary_size,
            "embedding_dim": self.embedding_dim,
            "output": self.output_type,
            "word_counts": self.word_counts,
        }

    @classmethod
    def from_config(cls, config):
        model = cls(**config)
        model.build()  # its weights exist at once (set_weights, float32_copy)
        return model
