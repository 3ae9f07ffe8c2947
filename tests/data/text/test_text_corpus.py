import pytest

from kerasnotes.data.text.text_corpus import (
    load_text_corpus,
    python_docstrings_corpus,
    read_text_file,
)


def test_docstring_corpus_is_deterministic_real_text():
    first = python_docstrings_corpus(max_chars=30_000)
    second = python_docstrings_corpus(max_chars=30_000)
    assert first.text == second.text and first.fingerprint == second.fingerprint
    assert 20_000 < len(first.text) <= 30_000
    assert first.text.startswith("Command-line parsing library")  # argparse, the first module
    assert "Python" in first.name and "docstrings" in first.name
    assert len(set(first.text.split())) > 1000  # real prose: many distinct words
    # A longer corpus extends the shorter one.
    assert python_docstrings_corpus(max_chars=60_000).text.startswith(first.text)


def test_read_text_file(tmp_path):
    path = tmp_path / "lyrics.txt"
    path.write_bytes("\ufeff想要有直升机\n".encode("utf-8"))
    corpus = read_text_file(path)
    assert corpus.text == "想要有直升机\n" and "7 characters" in corpus.name
    assert load_text_corpus(str(path)).text == corpus.text
    assert load_text_corpus(None, max_chars=5000).name.startswith("Python")


def test_lyrics_corpus_is_read_in_place(shared_data):
    corpus = read_text_file(shared_data / "lyrics" / "jaychou_lyrics.txt")
    assert corpus.text.startswith("想要有直升机") and len(corpus.text) > 60_000


@pytest.mark.parametrize(
    "content, message",
    [(b"", "is empty"), (b" \n\t\n", "is empty"), ("café".encode("latin-1"), "not UTF-8")],
)
def test_bad_files(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        read_text_file(path)


def test_missing_file_and_bad_max_chars(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"^text file .*missing.txt does not exist$"):
        read_text_file(tmp_path / "missing.txt")
    with pytest.raises(FileNotFoundError, match="is a folder"):
        read_text_file(tmp_path)
    with pytest.raises(ValueError, match="max_chars"):
        python_docstrings_corpus(max_chars=0)
    with pytest.raises(ValueError, match="smaller than the first docstring"):
        python_docstrings_corpus(max_chars=3)
