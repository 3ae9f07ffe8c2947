"""The corpus of apps.word2vec: the embedded docstring sentences or a PTB-format file.

A PTB-format file holds one sentence per line, tokens separated by spaces (d2l's
`ptb.train.txt`). The corpus is read, cut to its first `max_sentences` sentences, given a
vocabulary of the words seen at least `min_count` times (the rarer words are dropped, as
d2l does) and encoded as an `EncodedCorpus`.
"""

import io
import os

from kerasnotes.data.tabular.table_file import read_text
from kerasnotes.data.text.ptb_corpus import encode_corpus
from kerasnotes.data.text.stdlib_corpus import stdlib_docstring_sentences
from kerasnotes.data.text.word2vec_vocabulary import Word2VecVocabulary

EMBEDDED_NAME = "Python standard library docstrings (embedded corpus)"
# Words whose neighbours show what the vectors learnt (d2l's PTB probes, then code words).
PROBE_CANDIDATES = ("chip", "intel", "baby", "market", "file", "string", "thread", "socket",
                    "list", "error")


def read_corpus_sentences(path):
    """The sentences (lists of tokens) of a PTB-format file; empty lines are skipped.

    Raises `FileNotFoundError` for a missing file and `ValueError` naming the file and the
    line for a file that is not UTF-8 text (a binary file), or `... is empty` for a file
    without any token.

    Example:

    >>> read_corpus_sentences("../shared/data/ptb/ptb.train.txt")[1][:3]
    ['pierre', '<unk>', 'N']
    """
    path = os.path.expanduser(os.fspath(path))
    text = read_text(path, what="PTB-format corpus (one sentence per line)")
    sentences = [line.split() for line in io.StringIO(text, newline=None)]
    sentences = [s for s in sentences if s]
    if not sentences:
        raise ValueError(f"the corpus {path} is empty (no tokens)")
    return sentences


def load_word2vec_corpus(path=None, min_count=5, max_sentences=None):
    """The `EncodedCorpus` of `path` (None: the embedded corpus), described in its `name`.

    Example:

    >>> corpus = load_word2vec_corpus(max_sentences=600, min_count=3)
    >>> corpus.name.split(":")[0]
    'Python standard library docstrings (embedded corpus)'
    """
    if path is not None:
        sentences = read_corpus_sentences(path)
        name = f"{path} (PTB format)"
    else:
        sentences = stdlib_docstring_sentences()
        name = EMBEDDED_NAME
    if max_sentences is not None:
        sentences = sentences[:max_sentences]
    vocabulary = Word2VecVocabulary.from_sentences(sentences, min_count=min_count)
    corpus = encode_corpus(sentences, vocabulary, name=name)
    corpus.name = (f"{name}: {len(sentences)} sentences, {corpus.num_tokens} tokens in a "
                   f"vocabulary of {len(vocabulary)} words (min count {min_count})")
    return corpus


def probe_words(vocabulary, requested=None, count=4):
    """The words whose nearest words are shown: `requested` (comma-separated; each must be
    in the vocabulary), else the first `count` of `PROBE_CANDIDATES` in the vocabulary,
    else its `count` most frequent words.

    Example:

    >>> probe_words(corpus.vocabulary)
    ['file', 'string', 'thread', 'list']
    """
    if requested:
        words = [w.strip() for w in requested.split(",") if w.strip()]
        for word in words:
            if word not in vocabulary:
                raise ValueError(f"`probe_words`: {word!r} is not in the vocabulary "
                                 f"({len(vocabulary)} words; words seen fewer than "
                                 "`min_count` times are left out)")
        return words
    words = [w for w in PROBE_CANDIDATES if w in vocabulary][:count]
    return words or list(vocabulary.tokens[1:1 + count])
