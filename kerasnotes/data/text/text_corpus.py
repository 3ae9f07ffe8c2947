"""Raw text for language models: the embedded Python-docstring corpus or a UTF-8 file."""

import dataclasses
import hashlib
import importlib
import inspect
import os
import platform

# Standard-library modules whose docstrings make the default corpus, in this fixed order
# (pure-Python modules with long English docstrings; modules that fail to import on some
# platform are skipped).
DOCSTRING_MODULES = (
    "argparse", "bisect", "calendar", "collections", "configparser", "contextlib", "copy",
    "csv", "dataclasses", "datetime", "difflib", "doctest", "email.message", "enum",
    "fractions", "functools", "gettext", "heapq", "http.client", "inspect", "ipaddress",
    "json", "logging", "mailbox", "optparse", "os", "pathlib", "pickle", "pprint", "queue",
    "random", "re", "shlex", "shutil", "smtplib", "statistics", "string", "subprocess",
    "tarfile", "tempfile", "textwrap", "threading", "tokenize", "traceback", "typing",
    "unittest.case", "urllib.parse", "urllib.request", "uuid", "warnings", "weakref",
    "zipfile",
)

DEFAULT_MAX_CHARS = 200_000


@dataclasses.dataclass
class TextCorpus:
    """Raw text and a description of where it came from (shown by the apps).

    Attributes:
        text: the corpus, a `str`.
        name: description of the source, e.g. `"Python 3.11.2 standard-library docstrings"`.
    """

    text: str
    name: str

    @property
    def fingerprint(self):
        """First 12 hex digits of the SHA-256 of the text (to compare runs)."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()[:12]


def _module_docstrings(module):
    """The module's docstring, then those of its public classes, functions and methods."""
    yield module.__doc__
    for name in sorted(vars(module)):
        obj = vars(module)[name]
        if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isclass(obj) or inspect.isfunction(obj):
            yield obj.__doc__
        if inspect.isclass(obj):
            for attribute in sorted(vars(obj)):
                member = vars(obj)[attribute]
                if not attribute.startswith("_") and inspect.isfunction(member):
                    yield member.__doc__


def python_docstrings_corpus(max_chars=DEFAULT_MAX_CHARS, modules=DOCSTRING_MODULES):
    """The embedded default corpus: real English text from Python's own docstrings.

    Deterministic for a given Python version and needs no network or file: the docstrings
    of `modules` in their fixed order, each module's public members sorted by name,
    indentation cleaned with `inspect.cleandoc`, each distinct docstring once, joined by
    blank lines, cut at the last docstring boundary before `max_chars` characters.

    Args:
        max_chars: upper bound of the corpus length in characters (>= 1).
        modules: names of the standard-library modules to read.

    Returns:
        a `TextCorpus`.

    Example:

    >>> corpus = python_docstrings_corpus(max_chars=10_000)
    >>> len(corpus.text) <= 10_000, corpus.name.startswith("Python")
    (True, True)
    """
    if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1:
        raise ValueError(
            f"python_docstrings_corpus: max_chars must be an integer >= 1; received {max_chars!r}"
        )
    seen = set()
    parts = []
    length = 0
    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        for doc in _module_docstrings(module):
            if not isinstance(doc, str):
                continue
            doc = inspect.cleandoc(doc).strip()
            if not doc or doc in seen:
                continue
            seen.add(doc)
            added = len(doc) + (2 if parts else 0)
            if length + added > max_chars:
                break
            parts.append(doc)
            length += added
        else:
            continue
        break
    text = "\n\n".join(parts)
    if not text:
        raise ValueError(
            f"python_docstrings_corpus: max_chars={max_chars} is smaller than the first "
            "docstring"
        )
    name = f"Python {platform.python_version()} standard-library docstrings"
    return TextCorpus(text=text, name=name)


def read_text_file(path):
    """Reads a UTF-8 text file as a `TextCorpus`.

    A missing path (or a folder) raises `FileNotFoundError` with a one-line message naming
    it; a file that is not UTF-8, is empty or holds only whitespace raises `ValueError`
    saying so.

    Example:

    >>> read_text_file("../shared/data/lyrics/jaychou_lyrics.txt").text[:6]
    '想要有直升机'
    """
    path = os.path.expanduser(os.fspath(path))
    if not os.path.isfile(path):
        what = "is a folder, not a text file" if os.path.isdir(path) else "does not exist"
        raise FileNotFoundError(f"text file {path} {what}")
    with open(path, "rb") as f:
        data = f.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{path} is not UTF-8 text (invalid byte at offset {error.start}); convert it, "
            f"e.g. iconv -f GBK -t UTF-8 {path}"
        ) from None
    text = text.removeprefix("\ufeff")  # a byte-order mark is not part of the text
    if not text.strip():
        raise ValueError(f"{path} is empty: a language model needs text to learn from")
    return TextCorpus(text=text, name=f"{path} ({len(text)} characters)")


def load_text_corpus(path=None, max_chars=DEFAULT_MAX_CHARS):
    """The corpus an app trains on: the UTF-8 file `path`, or the embedded docstrings."""
    if path:
        return read_text_file(path)
    return python_docstrings_corpus(max_chars=max_chars)
