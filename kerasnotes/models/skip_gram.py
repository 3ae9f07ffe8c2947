"""The skip-gram word2vec model: a center word predicts its context words."""

import keras
from keras import ops

from kerasnotes.layers.hierarchical_softmax import HierarchicalSoftmax

OUTPUTS = ("negative_sampling", "hierarchical_softmax")


def check_word2vec_arguments(model, vocabulary_size, embedding_dim, output, word_counts):
    if isinstance(vocabulary_size, bool) or int(vocabulary_size) != vocabulary_size or \
            vocabulary_size < 2:
        raise ValueError(f"{model}: vocabulary_size must be an integer >= 2; "
                         f"received vocabulary_size={vocabulary_size!r}")
    if isinstance(embedding_dim, bool) or int(embedding_dim) != embedding_dim or embedding_dim < 1:
        raise ValueError(f"{model}: embedding_dim must be an integer >= 1; "
                         f"received embedding_dim={embedding_dim!r}")
    if output not in OUTPUTS:
        raise ValueError(f"{model}: output must be one of {OUTPUTS}; received output={output!r}")
    if output == "hierarchical_softmax":
        if word_counts is None or len(word_counts) != vocabulary_size:
            raise ValueError(
                f"{model}: output='hierarchical_softmax' needs word_counts with one count per "
                f"word ({vocabulary_size}); received "
                f"{None if word_counts is None else len(word_counts)} counts"
            )
        return [int(c) for c in word_counts]
    return None if word_counts is None else [int(c) for c in word_counts]


@keras.saving.register_keras_serializable(package="kerasnotes")
class SkipGram(keras.Model):
    """Skip-gram: the center word `w_c` generates the context words `w_o` of its window.

    Two embedding tables: `center_embedding` holds the center vectors `v` (the word vectors
    used afterwards), `context_embedding` the context vectors `u`.

    - `output="negative_sampling"` (the notes' forward pass): the center ids `(b, 1)` and
      the context-and-noise ids `(b, n+k)` are embedded to `(b, 1, d)` and `(b, n+k, d)`,
      and one batched matrix product gives the scores

          (b, 1, d) x (b, d, n+k) -> (b, 1, n+k),   score_j = u_{o_j}^T v_c

      the logits of `P(D=1 | w_c, w_o) = sigma(u_o^T v_c)`, trained with the masked
      binary cross-entropy (`MaskedBinaryCrossEntropy`, labels 1 for context words, 0 for
      noise words, mask 0 for padding).
    - `output="hierarchical_softmax"`: the inner-node vectors of `HierarchicalSoftmax`
      replace `u`; the call returns `-log P(w_o | w_c)` of each context id, `(b, 1, n)`,
      trained with `HierarchicalSoftmaxLoss`.

    Args:
        vocabulary_size: `V`, number of words (ids in `[0, V)`).
        embedding_dim: `d`, length of the word vectors.
        output: "negative_sampling" or "hierarchical_softmax".
        word_counts: `(V,)` word counts; required for hierarchical softmax (the tree).

    Call arguments:
        inputs: `(centers, contexts_negatives)`: int `(b, 1)` and int `(b, L)`.

    Returns:
        float `(b, 1, L)`: logits (negative sampling) or `-log P` (hierarchical softmax).

    Example:

    >>> model = SkipGram(vocabulary_size=20, embedding_dim=8)
    >>> model((np.array([[1], [2]]), np.array([[3, 4, 5], [6, 7, 0]]))).shape
    TensorShape([2, 1, 3])
    """

    def __init__(self, vocabulary_size, embedding_dim=100, output="negative_sampling",
                 word_counts=None, **kwargs):
        kwargs.setdefault("name", "skip_gram")
        super().__init__(**kwargs)
        self.word_counts = check_word2vec_arguments(
            "SkipGram", vocabulary_size, embedding_dim, output, word_counts)
        self.vocabulary_size = int(vocabulary_size)
        self.embedding_dim = int(embedding_dim)
        self.output_type = output
        self.center_embedding = keras.layers.Embedding(
            self.vocabulary_size, self.embedding_dim, name="center_embedding")
        if output == "negative_sampling":
            self.context_embedding = keras.layers.Embedding(
                self.vocabulary_size, self.embedding_dim, name="context_embedding")
        else:
            self.hierarchical_softmax = HierarchicalSoftmax(
                self.word_counts, name="hierarchical_softmax")

    def build(self, input_shape=None):
        self.center_embedding.build((None, 1))
        if self.output_type == "negative_sampling":
            self.context_embedding.build((None, None))
        else:
            self.hierarchical_softmax.build([(None, self.embedding_dim), (None, None)])
        self.built = True

    def call(self, inputs):
        centers, contexts_negatives = inputs
        v = self.center_embedding(centers)  # (b, 1, d)
        if self.output_type == "negative_sampling":
            u = self.context_embedding(contexts_negatives)  # (b, L, d)
            # (b, 1, L). An einsum, not matmul(v, transpose(u)): the transpose copies u
            # (and its gradient), which made the forward and backward pass ~30% slower.
            return ops.einsum("bid,bjd->bij", v, u)
        return self.hierarchical_softmax([v[:, 0, :], contexts_negatives])[:, None, :]

    @property
    def word_vectors(self):
        """The `(V, d)` word vectors: the center vectors `v`."""
        return self.center_embedding.embeddings

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
