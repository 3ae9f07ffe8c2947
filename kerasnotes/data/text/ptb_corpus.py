"""Corpora in the PTB format: one sentence per line, tokens separated by spaces."""

import dataclasses

import numpy as np

from kerasnotes.data.text.word2vec_vocabulary import Word2VecVocabulary


def read_ptb_sentences(path):
    """Reads a PTB-format text file into a list of sentences (lists of tokens).

    One sentence per line, tokens separated by whitespace; empty lines are skipped.
    A missing file raises `OSError` (`FileNotFoundError`), a file without any token
    `ValueError`.

    Example:

    >>> read_ptb_sentences("../shared/data/ptb/ptb.train.txt")[1][:3]
    ['pierre', '<unk>', 'N']
    """
    with open(path, encoding="utf-8") as f:
        sentences = [line.split() for line in f]
    sentences = [s for s in sentences if s]
    if not sentences:
        raise ValueError(f"the corpus {path} is empty (no tokens)")
    return sentences


@dataclasses.dataclass
class EncodedCorpus:
    """A corpus as two flat aligned arrays: the token ids and the sentence of each token.

    Sentences are contiguous runs of equal `sentence_ids` (non-decreasing). This layout
    lets the tf.data pipeline find every context window with vectorized ops.

    Attributes:
        token_ids: int32 `(num_tokens,)` ids in the vocabulary.
        sentence_ids: int32 `(num_tokens,)` index of the sentence of each token.
        vocabulary: the `Word2VecVocabulary`.
        name: description of the source, for the app's output.
    """

    token_ids: np.ndarray
    sentence_ids: np.ndarray
    vocabulary: Word2VecVocabulary
    name: str = "corpus"

    @property
    def num_tokens(self):
        return int(self.token_ids.shape[0])

    @property
    def counts(self):
        """int64 `(vocabulary_size,)` occurrences of each word in `token_ids`.

        With unknown words dropped, `counts[0] == 0` and the counts sum to the tokens
        trained on: subsampling's `f(w)`, the noise distribution (which then never draws
        `<unk>`) and the Huffman tree use these, as d2l does.
        """
        return np.bincount(self.token_ids, minlength=len(self.vocabulary)).astype(np.int64)


def encode_corpus(sentences, vocabulary, drop_unknown=True, name="corpus"):
    """Maps `sentences` to ids of `vocabulary` in the flat `EncodedCorpus` layout.

    With `drop_unknown` (as d2l does for word2vec) the tokens outside the vocabulary, and
    the literal `<unk>`, are removed: they have no vector worth learning, and a context
    window then spans the remaining words of the sentence.

    Example:

    >>> sentences = [["a", "b", "a"], ["a", "c"]]
    >>> corpus = encode_corpus(sentences, Word2VecVocabulary.from_sentences(sentences, min_count=1))
    >>> corpus.token_ids.tolist(), corpus.sentence_ids.tolist()
    ([1, 2, 1, 1, 3], [0, 0, 0, 1, 1])
    """
    lengths = np.array([len(s) for s in sentences], dtype=np.int64)
    flat = [token for sentence in sentences for token in sentence]
    token_ids = vocabulary.encode(flat)
    sentence_ids = np.repeat(np.arange(len(sentences), dtype=np.int32), lengths)
    if drop_unknown:
        keep = token_ids != 0
        token_ids, sentence_ids = token_ids[keep], sentence_ids[keep]
    if token_ids.size == 0:
        raise ValueError(f"{name}: no token of the corpus is in the vocabulary")
    return EncodedCorpus(token_ids.astype(np.int32), sentence_ids.astype(np.int32), vocabulary,
                         name)


def load_ptb_corpus(path, min_count=5, drop_unknown=True):
    """Reads a PTB-format file, builds its vocabulary and encodes it.

    Returns an `EncodedCorpus`. Raises `ValueError` for an empty corpus or one where no
    word reaches `min_count`.

    Example:

    >>> corpus = load_ptb_corpus("../shared/data/ptb/ptb.train.txt")
    >>> len(corpus.vocabulary), corpus.num_tokens
    (9858, 842501)
    """
    sentences = read_ptb_sentences(path)
    vocabulary = Word2VecVocabulary.from_sentences(sentences, min_count=min_count)
    return encode_corpus(sentences, vocabulary, drop_unknown=drop_unknown,
                         name=f"{path} ({len(sentences)} sentences)")
