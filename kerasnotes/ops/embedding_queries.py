"""Queries on word vectors: nearest words by cosine similarity, and analogies."""

import numpy as np

from kerasnotes._checks import check_int


def _index_of(vocabulary, word):
    tokens = getattr(vocabulary, "tokens", vocabulary)
    if hasattr(vocabulary, "index"):
        try:
            return vocabulary.index(word)
        except ValueError:  # a plain list's index()
            pass
    try:
        return list(tokens).index(word)
    except ValueError:
        raise KeyError(f"{word!r} is not in the vocabulary ({len(tokens)} tokens)") from None


def cosine_similarities(embeddings, vector):
    """The notes' `x^T y / (||x|| ||y||)` between every row of `embeddings` and `vector`.

    Args:
        embeddings: `(V, d)` word vectors.
        vector: `(d,)` query vector.

    Returns:
        float64 `(V,)` in `[-1, 1]` (0 for a zero vector).

    Example:

    >>> cosine_similarities(np.array([[1.0, 0.0], [1.0, 1.0]]), np.array([2.0, 0.0]))
    array([1.        , 0.70710678])
    """
    embeddings = np.asarray(embeddings, dtype=np.float64)
    vector = np.asarray(vector, dtype=np.float64)
    norms = np.linalg.norm(embeddings, axis=1) * np.linalg.norm(vector)
    return np.divide(embeddings @ vector, norms, out=np.zeros(len(embeddings)), where=norms > 0)


def _top_k(similarities, k, excluded, tokens):
    similarities = similarities.copy()
    similarities[list(excluded)] = -np.inf
    k = min(int(k), int(np.isfinite(similarities).sum()))
    best = np.argsort(-similarities, kind="stable")[:k]
    return [(tokens[i], float(similarities[i])) for i in best]


def most_similar(embeddings, vocabulary, word, k=5, exclude=()):
    """The `k` words whose vectors have the highest cosine similarity with `word`'s.

    Args:
        embeddings: `(V, d)` word vectors, row `i` for token `i`.
        vocabulary: a `Word2VecVocabulary` or the list of `V` tokens.
        word: the query word (excluded from the answer).
        k: how many neighbours.
        exclude: other tokens to leave out (e.g. `"<unk>"`).

    Returns:
        `[(token, cosine similarity), ...]`, best first.

    Raises:
        KeyError naming `word` when it is not in the vocabulary.

    Example:

    >>> most_similar(model.word_vectors.numpy(), vocabulary, "chip", k=3)
    [('intel', 0.71...), ('microprocessor', 0.69...), ...]
    """
    k = check_int("most_similar", "k", k)
    tokens = list(getattr(vocabulary, "tokens", vocabulary))
    index = _index_of(vocabulary, word)
    excluded = {index} | {tokens.index(t) for t in exclude if t in tokens}
    return _top_k(cosine_similarities(embeddings, np.asarray(embeddings)[index]), k, excluded,
                  tokens)


def analogy(embeddings, vocabulary, a, b, c, k=1, exclude=()):
    """Answers `a : b :: c : ?` with the words nearest to `v_b - v_a + v_c` (cosine).

    The query words `a`, `b`, `c` are excluded from the answer.

    Returns:
        `[(token, cosine similarity), ...]`, best first.

    Raises:
        KeyError naming the first query word that is not in the vocabulary.

    Example:

    >>> analogy(vectors, vocabulary, "man", "woman", "son")
    [('daughter', 0.8...)]
    """
    k = check_int("analogy", "k", k)
    tokens = list(getattr(vocabulary, "tokens", vocabulary))
    ids = [_index_of(vocabulary, word) for word in (a, b, c)]
    embeddings = np.asarray(embeddings, dtype=np.float64)
    target = embeddings[ids[1]] - embeddings[ids[0]] + embeddings[ids[2]]
    excluded = set(ids) | {tokens.index(t) for t in exclude if t in tokens}
    return _top_k(cosine_similarities(embeddings, target), k, excluded, tokens)
