"""Refusing a setting whose training cannot fit in memory, in one line, before TensorFlow
allocates anything (README, "Limits of the size flags").

A caller estimates a lower bound of one training step's bytes from its settings and calls
`check_memory("image size 4096, batch size 32", needed, "use smaller images")`.
"""

import os


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

    >>> check_memory("images of 100000 x 100000", 10.2e12, "use smaller images", budget=16e9)
    Traceback (most recent call last):
    ValueError: images of 100000 x 100000 needs at least 10.2 TB of memory, more than the \
16.0 GB of this machine; use smaller images
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



def recurrent_memory(cell, units, layers=1, bidirectional=False, inputs=1, outputs=2,
                     positions=1):
    """A lower bound of the bytes of one training step of `layers` recurrent layers of
    `cell` (`"rnn"`, `"gru"` or `"lstm"`; `units` per direction) between `inputs` and
    `outputs` features: every weight with its gradient and two optimizer slots (16 bytes),
    and the float32 gate values (with the state) of `positions` (batch size x time steps)
    kept for the gradient.

    >>> format_bytes(recurrent_memory("gru", 256, inputs=28, outputs=28, positions=32 * 35))
    '8.2 MB'
    """
    gates = {"rnn": 1, "gru": 3, "lstm": 4}[cell]
    directions = 2 if bidirectional else 1
    weights = 0
    for _ in range(layers):
        weights += directions * gates * (inputs + units + 1) * units
        inputs = directions * units
    values = positions * layers * directions * units
    return 16 * (weights + inputs * outputs) + 4 * values * (gates + 1)


def embedding_memory(vocabulary_size, dim, optimizer_slots=0, batch_vectors=0):
    """A lower bound of the bytes of training word vectors: word2vec's two float32 tables of
    `vocabulary_size` x `dim` (input and output vectors), each with `optimizer_slots` more
    tables of its size (Adam: 2), and `batch_vectors` vectors gathered by one batch.

    >>> format_bytes(embedding_memory(10_000, 100, optimizer_slots=2))
    '24.0 MB'
    """
    return 4 * dim * (2 * vocabulary_size * (1 + optimizer_slots) + batch_vectors)


def is_out_of_memory(error):
    """Whether `error` means the process ran out of memory: a `MemoryError`, or TensorFlow's
    `ResourceExhaustedError` that is not a full disk (the checkpoint and export code report
    a full disk themselves)."""
    if isinstance(error, MemoryError):
        return True
    import tensorflow as tf

    from kerasnotes.training.disk_space import is_disk_full

    return isinstance(error, tf.errors.ResourceExhaustedError) and not is_disk_full(error)
