import warnings

import pytest

from kerasnotes.data.text.text_vocabulary import TextVocabulary, tokenize


def test_tokenize_chars_and_words():
    assert tokenize("想要 有\n", "char") == ["想", "要", " ", "有", "\n"]
    assert "".join(tokenize("any Ünïcode 文字", "char")) == "any Ünïcode 文字"
    assert tokenize(" to be\n\tor  not ", "word") == ["to", "be", "or", "not"]


def test_indices_by_frequency_then_first_appearance_and_round_trip(tmp_path):
    vocab = TextVocabulary.from_text("banana split")
    # a:3, n:2, then b s p l i t ' ' once each in order of first appearance.
    assert vocab.tokens == ["<unk>", "a", "n", "b", " ", "s", "p", "l", "i", "t"]
    assert vocab.encode("nab") == [2, 1, 3]
    assert vocab.decode(vocab.encode("banana split")) == "banana split"
    assert vocab.index["<unk>"] == 0 and len(vocab) == 10
    path = tmp_path / "vocab.json"
    vocab.save(path)
    assert TextVocabulary.load(path) == vocab
    assert TextVocabulary.from_config(vocab.get_config()) == vocab


def test_min_freq_unknown_tokens_and_warning():
    vocab = TextVocabulary.from_text("the cat the dog the end", "word", min_freq=2)
    assert vocab.tokens == ["<unk>", "the"]
    assert vocab.encode("the bird") == [1, 0]
    assert vocab.decode([1, 0]) == "the <unk>"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        vocab.encode("the bird flew", warn_unknown=True)
    assert "'bird', 'flew'" in str(caught[0].message)
    assert vocab.unknown_tokens("a b a") == ["a", "b"]


def test_chinese_characters():
    text = "想要有直升机\n想要和你飞到宇宙去"
    vocab = TextVocabulary.from_text(text)
    assert vocab.tokens[:3] == ["<unk>", "想", "要"]
    assert vocab.decode(vocab.encode(text)) == text


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: tokenize("a", "byte"), "token_level"),
        (lambda: tokenize(b"a"), "str"),
        (lambda: TextVocabulary(["a", "<unk>"]), "tokens\\[0\\]"),
        (lambda: TextVocabulary(["<unk>", "a", "a"]), "unique"),
        (lambda: TextVocabulary.from_text("ab", min_freq=0), "min_freq"),
        (lambda: TextVocabulary(["<unk>"], token_level="line"), "token_level"),
        (lambda: TextVocabulary(["<unk>", "a"]).decode([2]), "index 2"),
    ],
)
def test_bad_input(make, message):
    with pytest.raises(ValueError, match=message):
        make()
