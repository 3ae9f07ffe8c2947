"""The serving module of word vectors: token strings in, vectors and nearest words out."""

import numpy as np
import tensorflow as tf


class WordVectorServer(tf.Module):
    """Serving wrapper of trained word vectors with their vocabulary inside.

    `serve` takes token strings `(N,)` and returns named outputs:

    - `ids`: `(N,)` int64 vocabulary ids (unknown tokens map to `<unk>`, id 0);
    - `vectors`: `(N, d)` float32 word vectors;
    - `neighbors`: `(N, k)` strings, the `k` words of highest cosine similarity
      `x^T y / (||x|| ||y||)`, the query word itself and `<unk>` excluded;
    - `similarities`: `(N, k)` float32, their cosine similarities.

    It loads with plain `tf.saved_model.load` in a process without kerasnotes.

    Args:
        vectors: `(V, d)` word vectors, row `i` for `tokens[i]`.
        tokens: the `V` tokens, `tokens[0]` the unknown token.
        k: neighbours per query, `1 <= k <= V - 2`.

    Example:

    >>> server = WordVectorServer(model.word_vectors.numpy(), vocabulary.tokens, k=5)
    >>> export_saved_model(server, "saved_models/word2vec", server.signatures())
    """

    def __init__(self, vectors, tokens, k=5):
        super().__init__(name="word_vectors")
        vectors = np.asarray(vectors, np.float32)
        tokens = [str(t) for t in tokens]
        if vectors.ndim != 2 or vectors.shape[0] != len(tokens):
            raise ValueError(f"WordVectorServer: {len(tokens)} tokens for vectors of shape "
                             f"{vectors.shape}")
        if not 1 <= int(k) <= len(tokens) - 2:
            raise ValueError(f"WordVectorServer: k must be in [1, {len(tokens) - 2}]; "
                             f"received k={k}")
        self.k = int(k)
        self.vectors = tf.Variable(vectors, trainable=False, name="vectors")
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self.unit_vectors = tf.Variable(vectors / np.maximum(norms, 1e-12), trainable=False,
                                        name="unit_vectors")
        self.tokens = tf.constant(tokens)
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(self.tokens, tf.range(len(tokens), dtype=tf.int64)),
            default_value=0,
        )
        self.serve = tf.function(
            self._serve, input_signature=[tf.TensorSpec([None], tf.string, name="tokens")])

    def signatures(self):
        """`{"serving_default": serve}` for export."""
        return {"serving_default": self.serve}

    def _serve(self, tokens):
        ids = self.table.lookup(tokens)
        queries = tf.gather(self.unit_vectors, ids)
        similarities = tf.matmul(queries, self.unit_vectors, transpose_b=True)  # (N, V)
        size = tf.shape(similarities)[1]
        excluded = (tf.one_hot(ids, size, on_value=True, off_value=False)
                    | (tf.range(size) == 0)[None, :])
        similarities = tf.where(excluded, tf.fill(tf.shape(similarities), -np.inf), similarities)
        best, best_ids = tf.math.top_k(similarities, k=self.k)
        return {
            "ids": ids,
            "vectors": tf.gather(self.vectors, ids),
            "neighbors": tf.gather(self.tokens, best_ids),
            "similarities": best,
        }
