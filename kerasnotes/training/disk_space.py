"""A full disk, reported as one line: which folder, how much space was needed, how much is free.

TensorFlow reports a write that hit a full disk as `tf.errors.ResourceExhaustedError`
("... No space left on device") with a 59-line traceback; Python as `OSError` with errno
`ENOSPC` (or `EDQUOT`, a quota) and often no file name. `no_space_error` turns either into
an `OSError(ENOSPC, message, folder)`, which the apps' runner prints as one `error:` line
(exit code 2).

Example:

    try:
        tf.saved_model.save(module, path)
    except (tf.errors.ResourceExhaustedError, OSError) as error:
        if not is_disk_full(error):
            raise
        raise no_space_error(export_base, "the SavedModel export", needed, "...") from error
"""

import errno
import os
import shutil

import tensorflow as tf

_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
_FULL_TEXTS = ("no space left on device", "disk quota exceeded")


def is_disk_full(error):
    """True when `error` is a write that failed for lack of disk space (or quota)."""
    if isinstance(error, OSError) and error.errno in _FULL_ERRNOS:
        return True
    if isinstance(error, (tf.errors.OpError, OSError)):  # e.g. ResourceExhaustedError
        return any(text in str(error).lower() for text in _FULL_TEXTS)
    return False


def no_space_error(folder, what, needed, outcome, at_least=False):
    """`OSError(ENOSPC)` naming `folder`: "no space left on device for WHAT: it needs about
    NEEDED, FREE free; OUTCOME". `needed` is a byte count, an estimate (`at_least`: a lower
    bound; one below the free space says "more than the FREE free"). Call it once the
    partial files are removed, so that FREE is what is free."""
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        free = None
    if free is None:
        space = f"about {human_size(needed)}"
    elif at_least and needed <= free:
        space = f"more than the {human_size(free)} free"
    else:
        space = (f"{'at least' if at_least else 'about'} {human_size(needed)}, "
                 f"{human_size(free)} free")
    return OSError(errno.ENOSPC,
                   f"no space left on device for {what}: it needs {space}; {outcome}", folder)


def folder_size(path):
    """Bytes of the files under `path` (a file: its size; missing: 0)."""
    if os.path.isfile(path):
        return os.path.getsize(path)
    total = 0
    for root, _, names in os.walk(path):
        for name in names:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total


def human_size(count):
    """`1536` -> "1.5 KB", `538230` -> "538 KB", `24_100_000` -> "24.1 MB"."""
    count = float(count)
    for unit in ("bytes", "KB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            break
        count /= 1000
    if unit == "bytes":
        return f"{int(count)} bytes"
    return f"{count:.1f} {unit}" if count < 100 else f"{count:.0f} {unit}"
