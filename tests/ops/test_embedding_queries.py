"""most_similar and analogy: cosine similarity, query words excluded, unknown words named."""

import numpy as np
import pytest

from kerasnotes.data.text.word2vec_vocabulary import Word2VecVocabulary
from kerasnotes.ops.embedding_queries import analogy, cosine_similarities, most_similar

TOKENS = ["<unk>", "king", "queen", "man", "woman", "apple"]
VECTORS = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 0.1], [1.0, -1.0, 0.1], [0.0, 1.0, 0.0],
                    [0.0, -1.0, 0.0], [0.1, 0.0, 5.0]])


def test_cosine_is_the_notes_formula():
    x = np.random.default_rng(0).normal(size=(6, 4))
    y = x[2]
    expected = [xi @ y / (np.linalg.norm(xi) * np.linalg.norm(y)) for xi in x]
    np.testing.assert_allclose(cosine_similarities(x, y), expected, atol=1e-12)
    assert cosine_similarities(VECTORS, VECTORS[1])[0] == 0.0  # zero vector


def test_most_similar_excludes_the_query_and_sorts():
    found = most_similar(VECTORS, TOKENS, "king", k=3, exclude=("<unk>",))
    words = [w for w, _ in found]
    assert "king" not in words and "<unk>" not in words and words[0] == "man"
    sims = [s for _, s in found]
    assert sims == sorted(sims, reverse=True)
    assert sims[0] == pytest.approx(cosine_similarities(VECTORS, VECTORS[1])[3])
    vocab = Word2VecVocabulary(TOKENS, [1] * 6)
    assert most_similar(VECTORS, vocab, "king", k=3, exclude=("<unk>",)) == found


def test_analogy():
    # king - man + woman = (1, -1, 0.1) = queen's vector
    assert analogy(VECTORS, TOKENS, "man", "king", "woman")[0][0] == "queen"
    found = analogy(VECTORS, TOKENS, "man", "king", "woman", k=5)
    assert not {"man", "king", "woman"} & {w for w, _ in found}


def test_unknown_words_are_named():
    with pytest.raises(KeyError, match="'prince'"):
        most_similar(VECTORS, TOKENS, "prince")
    with pytest.raises(KeyError, match="'princess'"):
        analogy(VECTORS, Word2VecVocabulary(TOKENS, [1] * 6), "man", "king", "princess")
    with pytest.raises(ValueError, match="k must be"):
        most_similar(VECTORS, TOKENS, "king", k=0)
