"""Token <-> index vocabulary of raw text, character or word level (language models)."""

import collections
import json
import re
import warnings

UNKNOWN_TOKEN = "<unk>"
TOKEN_LEVELS = ("char", "word")


def tokenize(text, token_level="char"):
    """Splits `text` into tokens.

    - `"char"`: every Unicode code point is a token (Chinese lyrics, accents, newlines
      included), so `"".join(tokens) == text`.
    - `"word"`: maximal runs of non-whitespace characters, so `" ".join(tokens)` is the
      text with its whitespace normalized to single spaces.

    Example:

    >>> tokenize("想要 有", "char")
    ['想', '要', ' ', '有']
    >>> tokenize("to be  or", "word")
    ['to', 'be', 'or']
    """
    if token_level not in TOKEN_LEVELS:
        raise ValueError(
            f"tokenize: token_level must be one of {TOKEN_LEVELS}; received {token_level!r}"
        )
    if not isinstance(text, str):
        raise ValueError(f"tokenize: text must be a str; received {type(text).__name__}")
    if token_level == "char":
        return list(text)
    return re.findall(r"\S+", text)


class TextVocabulary:
    """The notes' word <-> index mapping: every token of the corpus gets an integer index.

    Index 0 is `<unk>`, the token that stands for anything not in the vocabulary (tokens
    seen fewer than `min_freq` times in the corpus, or new ones at prediction time). The
    other tokens follow by decreasing frequency, ties broken by first appearance, so the
    same corpus always gives the same indices. The vocabulary travels with the model (it
    is part of `RNNLanguageModel`'s config and of the exported SavedModel) and with the run
    (`save(path)` writes JSON).

    Args:
        tokens: the index -> token list; `tokens[0]` must be `"<unk>"`.
        token_level: `"char"` or `"word"`: how text is split and joined.

    Example:

    >>> vocab = TextVocabulary.from_text("abca", token_level="char")
    >>> vocab.tokens, vocab.encode("abz"), vocab.decode([1, 2])
    (['<unk>', 'a', 'b', 'c'], [1, 2, 0], 'ab')
    """

    def __init__(self, tokens, token_level="char"):
        tokens = list(tokens)
        if token_level not in TOKEN_LEVELS:
            raise ValueError(
                f"TextVocabulary: token_level must be one of {TOKEN_LEVELS}; "
                f"received {token_level!r}"
            )
        if not tokens or tokens[0] != UNKNOWN_TOKEN:
            raise ValueError(
                f"TextVocabulary: tokens[0] must be {UNKNOWN_TOKEN!r}; received "
                f"{tokens[:1]!r}"
            )
        if len(set(tokens)) != len(tokens):
            duplicates = sorted(t for t, c in collections.Counter(tokens).items() if c > 1)
            raise ValueError(
                f"TextVocabulary: tokens must be unique; repeated: {duplicates[:5]}"
            )
        self.tokens = tokens
        self.token_level = token_level
        self.index = {token: i for i, token in enumerate(tokens)}

    @classmethod
    def from_text(cls, text, token_level="char", min_freq=1):
        """Builds the vocabulary of `text`: tokens seen at least `min_freq` times."""
        if isinstance(min_freq, bool) or not isinstance(min_freq, int) or min_freq < 1:
            raise ValueError(
                "TextVocabulary: min_freq must be an integer >= 1; "
                f"received min_freq={min_freq!r}"
            )
        counts = collections.Counter(tokenize(text, token_level))
        counts.pop(UNKNOWN_TOKEN, None)
        # Counter keeps first-appearance order, and sorted() is stable.
        kept = sorted((t for t, c in counts.items() if c >= min_freq), key=lambda t: -counts[t])
        return cls([UNKNOWN_TOKEN, *kept], token_level=token_level)

    def __len__(self):
        return len(self.tokens)

    @property
    def separator(self):
        """What joins tokens back into text: `""` for characters, `" "` for words."""
        return "" if self.token_level == "char" else " "

    def unknown_tokens(self, text):
        """The distinct tokens of `text` that are not in the vocabulary, in order."""
        return list(dict.fromkeys(t for t in tokenize(text, self.token_level)
                                  if t not in self.index))

    def encode(self, text, warn_unknown=False):
        """Text -> list of indices; unknown tokens become 0 (`<unk>`).

        With `warn_unknown=True` a `UserWarning` names the unknown tokens.
        """
        if warn_unknown:
            unknown = self.unknown_tokens(text)
            if unknown:
                shown = ", ".join(repr(t) for t in unknown[:10])
                warnings.warn(
                    f"{len(unknown)} token(s) not in the vocabulary, mapped to "
                    f"{UNKNOWN_TOKEN}: {shown}", UserWarning, stacklevel=2,
                )
        return [self.index.get(t, 0) for t in tokenize(text, self.token_level)]

    def decode(self, indices):
        """List of indices -> text (tokens joined by `separator`)."""
        size = len(self.tokens)
        out = []
        for i in indices:
            i = int(i)
            if not 0 <= i < size:
                raise ValueError(f"TextVocabulary.decode: index {i} outside [0, {size})")
            out.append(self.tokens[i])
        return self.separator.join(out)

    def get_config(self):
        return {"tokens": list(self.tokens), "token_level": self.token_level}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def save(self, path):
        """Writes the vocabulary as UTF-8 JSON (`{"tokens": [...], "token_level": ...}`)."""
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.get_config(), f, ensure_ascii=False)

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as f:
            return cls.from_config(json.load(f))

    def __eq__(self, other):
        return isinstance(other, TextVocabulary) and self.get_config() == other.get_config()

    def __repr__(self):
        return f"TextVocabulary({len(self)} {self.token_level} tokens)"
