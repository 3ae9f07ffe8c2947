"""apps.word2vec's corpus: PTB-format files (binary ones refused by file and line), probes."""

import pytest

from kerasnotes.data.text.word2vec_corpus import (
    load_word2vec_corpus,
    probe_words,
    read_corpus_sentences,
)


def test_reads_sentences_per_line_and_cuts_to_max_sentences(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("a b a\n\n  c a \r\nb a\n")
    assert read_corpus_sentences(path) == [["a", "b", "a"], ["c", "a"], ["b", "a"]]
    corpus = load_word2vec_corpus(str(path), min_count=2, max_sentences=2)
    assert corpus.vocabulary.tokens == ("<unk>", "a")  # b occurs once in 2 sentences
    assert corpus.token_ids.tolist() == [1, 1, 1] and corpus.sentence_ids.tolist() == [0, 0, 1]
    assert corpus.name.startswith(f"{path} (PTB format): 2 sentences, 3 tokens")


@pytest.mark.parametrize("data, message", [
    (b"the cat\nsat on\n\x89PNG\r\n\x1a\n\x00\x00", "line 3: not a text file (byte 0x89"),
    (b"the cat\n\nsat\x00 on\n", "line 3: not a text file (it holds a NUL byte)"),
])
def test_a_binary_file_is_refused_naming_the_file_and_line(tmp_path, data, message):
    path = tmp_path / "corpus.bin"
    path.write_bytes(data)
    with pytest.raises(ValueError) as info:
        read_corpus_sentences(path)
    assert str(info.value).startswith(f"{path}, {message}")
    assert "\n" not in str(info.value)


def test_empty_and_missing_files(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text(" \n\n")
    with pytest.raises(ValueError, match="is empty"):
        read_corpus_sentences(empty)
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_corpus_sentences(tmp_path / "missing.txt")


def test_embedded_corpus_and_probe_words():
    corpus = load_word2vec_corpus(min_count=3, max_sentences=600)
    assert corpus.name.startswith("Python standard library docstrings (embedded corpus): "
                                  "600 sentences")
    vocabulary = corpus.vocabulary
    chosen = probe_words(vocabulary)
    assert len(chosen) == 4 and all(word in vocabulary for word in chosen)
    assert probe_words(vocabulary, " file, string ") == ["file", "string"]
    with pytest.raises(ValueError, match="'zzzqqq' is not in the vocabulary"):
        probe_words(vocabulary, "file,zzzqqq")
