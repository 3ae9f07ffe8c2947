"""Refusing a setting of the size flags whose training cannot fit in memory, in one line
before TensorFlow allocates anything (README, "Limits of the size flags").

Each app estimates a lower bound of one training step's bytes from its flags and calls
`check_memory("--image-size 4096 --batch-size 32", needed, "lower --image-size")`.
"""

import os

from apps.flags import hidden_layers


def memory_budget():
    """The bytes of memory this process may use: the machine's physical memory, or the
    container's limit (cgroup v2 `memory.max`) when smaller; None when unknown."""
    budget = None
    try:
        budget = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        pass
    try:
        with open("/sys/fs/cgroup/memory.max") as file:
            limit = file.read().strip()
        if limit.isdigit():
            budget = min(budget or int(limit), int(limit))
    except OSError:
        pass
    return budget


def format_bytes(size):
    """`1536` -> `'1.5 KB'`, `23.5e9` -> `'23.5 GB'` (decimal units)."""
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if size < 1000 or unit == "PB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000


def check_memory(what, needed, advice, budget=None):
    """Refuses a setting whose memory `needed` (bytes; a lower bound of one training step)
    is more than `budget` (default `memory_budget()`): a `ValueError` naming `what`, the
    figures and `advice`, before TensorFlow allocates anything.

    >>> check_memory("--resize 100000", 10.2e12, "lower --resize", budget=16e9)
    Traceback (most recent call last):
    ValueError: --resize 100000 needs at least 10.2 TB of memory, more than the 16.0 GB \
of this machine; lower --resize
    """
    budget = memory_budget() if budget is None else budget
    if budget and needed > budget:
        raise ValueError(f"{what} needs at least {format_bytes(needed)} of memory, more than "
                         f"the {format_bytes(budget)} of this machine; {advice}")
    return needed


def layers_memory(sizes, inputs=1, outputs=1, batch=1, bytes_per_weight=16):
    """A lower bound of the bytes of dense layers of `sizes` units between `inputs` and
    `outputs` features: every weight held with its gradient and two optimizer slots
    (`bytes_per_weight` 16: float32 x 4) and `batch` rows of float32 activations."""
    widths = [inputs, *sizes, outputs]
    weights = sum(a * b for a, b in zip(widths, widths[1:], strict=False))
    return bytes_per_weight * weights + 4 * batch * sum(sizes)


def check_hidden_units(flag, text, batch=1):
    """Refuses (`ValueError`) hidden layer sizes (a `layer_sizes` text) whose weights cannot
    fit in memory (`layers_memory` with one input feature and one output: a lower bound,
    the table's features are not known yet)."""
    check_memory(f"{flag} {text}", layers_memory(hidden_layers(text), batch=batch),
                 f"use fewer or smaller hidden layers in {flag}")
