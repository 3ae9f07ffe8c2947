"""The embedded default corpus: English sentences from the Python standard library's docstrings."""

import importlib
import inspect
import re

# Standard-library modules whose docstrings make the corpus, in this fixed order. Modules
# that fail to import on some platform are skipped.
STDLIB_MODULES = (
    "abc", "argparse", "ast", "asyncio", "base64", "bdb", "bisect", "bz2", "calendar", "cmd",
    "codecs", "collections", "colorsys", "concurrent.futures", "configparser", "contextlib",
    "copy", "csv", "dataclasses", "datetime", "decimal", "difflib", "dis", "doctest", "email",
    "email.message", "enum", "filecmp", "fnmatch", "fractions", "ftplib", "functools",
    "getopt", "gettext", "glob", "graphlib", "gzip", "hashlib", "heapq", "hmac", "html.parser",
    "http.client", "http.cookiejar", "http.server", "imaplib", "importlib", "inspect", "io",
    "ipaddress", "json", "locale", "logging", "logging.handlers", "lzma", "mailbox",
    "mimetypes", "multiprocessing", "netrc", "numbers", "operator", "optparse", "os",
    "pathlib", "pdb", "pickle", "pickletools", "pkgutil", "platform", "plistlib", "poplib",
    "pprint", "profile", "pstats", "pydoc", "queue", "quopri", "random", "re", "reprlib",
    "sched", "secrets", "selectors", "shelve", "shlex", "shutil", "signal", "smtplib",
    "socket", "socketserver", "sqlite3", "ssl", "stat", "statistics", "string", "struct",
    "subprocess", "symtable", "sysconfig", "tabnanny", "tarfile", "tempfile", "textwrap",
    "threading", "timeit", "token", "tokenize", "trace", "traceback", "types", "typing",
    "unittest", "unittest.mock", "urllib.parse", "urllib.request", "uuid", "warnings", "wave",
    "weakref", "xml.dom.minidom", "xml.etree.ElementTree", "xml.sax", "zipfile", "zipimport",
)

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n\s*\n")
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?|\d+")


def _docstrings(module):
    """The docstrings of a module and of its public classes, functions and methods."""
    yield inspect.getdoc(module) or ""
    for name in sorted(vars(module)):
        if name.startswith("_"):
            continue
        obj = vars(module)[name]
        if getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isclass(obj) or inspect.isfunction(obj):
            yield inspect.getdoc(obj) or ""
        if inspect.isclass(obj):
            for attribute in sorted(vars(obj)):
                member = vars(obj)[attribute]
                if not attribute.startswith("_") and inspect.isfunction(member):
                    yield inspect.getdoc(member) or ""


def _sentences(text):
    for chunk in _SENTENCE_END.split(text):
        # Lines of code examples (doctest prompts, indented code) are not English sentences.
        lines = [line for line in chunk.splitlines()
                 if not line.lstrip().startswith((">>>", "...")) and not line.startswith("    ")]
        words = _WORD.findall(" ".join(lines).lower())
        words = ["N" if word.isdigit() else word for word in words]  # numbers as in PTB
        if len(words) >= 3:
            yield words


def stdlib_docstring_sentences(modules=STDLIB_MODULES):
    """Sentences (lists of lowercase tokens) from the docstrings of standard-library modules.

    Deterministic for a given Python version: modules in the fixed `STDLIB_MODULES` order,
    their members sorted by name, docstrings split at sentence ends, doctest and indented
    code lines removed, words lowercased, numbers written `N` as in PTB. No network and no
    files are needed. Duplicate docstrings (inherited or shared) are kept once.

    Example:

    >>> sentences = stdlib_docstring_sentences()
    >>> len(sentences) > 1000, sentences[0][:3]
    (True, ['abstract', 'base', 'classes'])
    """
    seen = set()
    sentences = []
    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        for doc in _docstrings(module):
            if doc and doc not in seen:
                seen.add(doc)
                sentences.extend(_sentences(doc))
    return sentences
