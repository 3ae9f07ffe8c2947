"""Every file under a folder with its bytes: to assert that nothing changed, or that two
folders hold the same files.

    before = file_contents(folder)
    ...                                   # the step under test
    assert file_contents(folder) == before
"""

import os


def file_contents(root):
    """`{relative path: bytes}` of every file under `root`."""
    files = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as file:
                files[os.path.relpath(path, root)] = file.read()
    return files
