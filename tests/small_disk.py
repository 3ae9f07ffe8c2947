"""A full disk on demand for the tests: a small tmpfs (root only) and a filler file.

    with small_disk(folder, "1m"):          # folder's files, if any, move onto the tmpfs
        filler = fill(folder)               # no byte left (fill(folder, leave=N): N left)
        ...                                 # the write under test fails with ENOSPC
        os.remove(filler)                   # room again

A test that cannot mount (not root, no tmpfs) is skipped with the reason.
"""

import contextlib
import errno
import os
import shutil
import subprocess

import pytest


@contextlib.contextmanager
def small_disk(folder, size="1m"):
    """Mounts a tmpfs of `size` on `folder` (made if missing), moving the folder's files
    onto it; unmounts at the end (the files on it are lost then)."""
    folder = str(folder)
    saved = f"{folder}.saved"
    had_files = os.path.isdir(folder) and bool(os.listdir(folder))
    if had_files:
        os.rename(folder, saved)
    os.makedirs(folder, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", folder],
                             capture_output=True, timeout=30)
    if mounted.returncode != 0:
        if had_files:
            os.rmdir(folder)
            os.rename(saved, folder)
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        if had_files:
            for name in os.listdir(saved):
                shutil.move(os.path.join(saved, name), folder)
            os.rmdir(saved)
        yield folder
    finally:
        subprocess.run(["umount", "-l", folder], capture_output=True, timeout=30)


def fill(folder, leave=0):
    """Fills the file system of `folder` but `leave` bytes; returns the filler file."""
    path = os.path.join(folder, "filler")
    with open(path, "wb") as file:
        try:
            file.write(b"\0" * (shutil.disk_usage(folder).free - leave))
        except OSError as error:
            assert error.errno == errno.ENOSPC
    if leave == 0:
        assert shutil.disk_usage(folder).free == 0
    return path
