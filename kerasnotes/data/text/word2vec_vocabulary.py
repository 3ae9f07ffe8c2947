"""The word2vec vocabulary: words with a minimum count, their counts, and `<unk>`."""

import collections

import numpy as np

UNKNOWN_TOKEN = "<unk>"


class Word2VecVocabulary:
    """Tokens of a corpus that occur at least `min_count` times, plus `<unk>` at index 0.

    The notes' index set `V = nub(S)`, restricted to the words frequent enough to learn a
    vector for: index 0 is the unknown token, which every other word maps to. Tokens are
    ordered by decreasing count (ties: alphabetically), so the ids are deterministic. The
    counts are kept: subsampling, the noise distribution and the Huffman tree use them.

    Args:
        tokens: the tokens, `tokens[0]` the unknown token.
        counts: how often each token occurs in the corpus (`counts[0]`: the words mapped
            to the unknown token, the literal unknown token included).
        unknown_token: the token at index 0.

    Example:

    >>> vocab = Word2VecVocabulary.from_sentences([["a", "b", "a"], ["a", "c"]], min_count=2)
    >>> vocab.tokens, vocab.counts.tolist(), vocab.encode(["a", "zzz"]).tolist()
    (('<unk>', 'a'), [2, 3], [1, 0])
    """

    def __init__(self, tokens, counts, unknown_token=UNKNOWN_TOKEN):
        tokens = tuple(str(t) for t in tokens)
        counts = np.asarray(counts, dtype=np.int64)
        if not tokens or tokens[0] != unknown_token:
            raise ValueError(
                f"Word2VecVocabulary: tokens[0] must be the unknown token {unknown_token!r}; "
                f"received {tokens[:1]}"
            )
        if counts.shape != (len(tokens),):
            raise ValueError(
                f"Word2VecVocabulary: counts must have one entry per token ({len(tokens)}); "
                f"received shape {counts.shape}"
            )
        if np.any(counts < 0):
            raise ValueError("Word2VecVocabulary: counts must be >= 0")
        if len(set(tokens)) != len(tokens):
            raise ValueError("Word2VecVocabulary: tokens must be distinct")
        self.tokens = tokens
        self.counts = counts
        self.unknown_token = unknown_token
        self._index = {token: i for i, token in enumerate(tokens)}

    @classmethod
    def from_sentences(cls, sentences, min_count=5, unknown_token=UNKNOWN_TOKEN):
        """Counts the tokens of `sentences` (lists of strings) and keeps those >= `min_count`.

        Raises `ValueError` for an empty corpus or when no word reaches `min_count`.
        """
        if isinstance(min_count, bool) or int(min_count) != min_count or min_count < 1:
            raise ValueError(f"min_count must be an integer >= 1; received {min_count!r}")
        counter = collections.Counter()
        for sentence in sentences:
            counter.update(sentence)
        total = sum(counter.values())
        if total == 0:
            raise ValueError("the corpus is empty (no tokens)")
        kept = sorted(
            ((token, count) for token, count in counter.items()
             if count >= min_count and token != unknown_token),
            key=lambda item: (-item[1], item[0]),
        )
        if not kept:
            raise ValueError(
                f"no word occurs at least min_count={min_count} times in the corpus "
                f"({total} tokens, {len(counter)} distinct, the most frequent "
                f"{counter.most_common(1)[0][1]} times); lower `min_count` or use a larger corpus"
            )
        unknown_count = total - sum(count for _, count in kept)
        tokens = [unknown_token] + [token for token, _ in kept]
        counts = [unknown_count] + [count for _, count in kept]
        return cls(tokens, counts, unknown_token=unknown_token)

    def __len__(self):
        return len(self.tokens)

    def __contains__(self, token):
        return token in self._index

    def index(self, token):
        """The id of `token`; a `KeyError` naming it when it is not in the vocabulary."""
        try:
            return self._index[token]
        except KeyError:
            raise KeyError(
                f"{token!r} is not in the vocabulary ({len(self)} tokens after min count)"
            ) from None

    def encode(self, tokens):
        """int32 ids of `tokens`; tokens outside the vocabulary map to 0 (`<unk>`)."""
        return np.array([self._index.get(t, 0) for t in tokens], dtype=np.int32)

    def decode(self, ids):
        """The tokens of integer `ids`."""
        return [self.tokens[int(i)] for i in np.asarray(ids).reshape(-1)]
