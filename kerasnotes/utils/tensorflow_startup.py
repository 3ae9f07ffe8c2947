"""Importing TensorFlow without its start-up noise, which reads like errors to a new user.

TensorFlow's C++ libraries print a few lines while they load, before its logging is set up,
so `TF_CPP_MIN_LOG_LEVEL` cannot hide them: "oneDNN custom operations are on", "Could not
find cuda drivers on your machine" (twice: two libraries print them), and, on a machine
without a GPU, `E0000 ... failed call to cuInit: ... CUDA error`. They are harmless: oneDNN
is TensorFlow's CPU kernel library, and the CUDA lines only say that no GPU is used (the
apps print the precision and device they use). `import_tensorflow()` imports TensorFlow
with the process's stderr sent to a temporary file, then writes back every line but those.
TensorFlow's later ERROR log lines (e.g. gRPC's when a worker is lost) are also hidden
(`TF_CPP_MIN_LOG_LEVEL=3`): the apps report every failure in one `error:` line of their own.
`KERASNOTES_DEBUG=1` shows everything.

    from kerasnotes.utils.tensorflow_startup import import_tensorflow
    tf = import_tensorflow()
"""

import contextlib
import os
import re
import sys
import tempfile

# The start-up lines that say nothing is wrong (matched anywhere in a line).
HARMLESS_STARTUP_LINES = re.compile(
    r"All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|oneDNN custom operations are on"
    r"|Could not find cuda drivers on your machine, GPU will not be used"
    r"|failed call to cuInit"
    r"|Unable to register cu(DNN|FFT|BLAS) factory"
    r"|computation placer already registered"
    r"|TensorFlow binary is optimized to use available CPU instructions"
    r"|rebuild TensorFlow with the appropriate compiler flags"
)


def debugging():
    return bool(os.environ.get("KERASNOTES_DEBUG"))


if not debugging():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def harmless_startup_lines_hidden():
    """Runs the body with file descriptor 2 (stderr) in a temporary file, then writes back
    every line of it that `HARMLESS_STARTUP_LINES` does not match."""
    if debugging():
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode("utf-8", "replace").splitlines(keepends=True):
                if not HARMLESS_STARTUP_LINES.search(line):
                    sys.stderr.write(line)
            sys.stderr.flush()


def import_tensorflow():
    """`tensorflow`, imported (with Keras) without its harmless start-up lines."""
    with harmless_startup_lines_hidden():
        import keras  # noqa: F401 - loads TensorFlow's libraries once, here
        import tensorflow as tf

        tf.config.list_physical_devices()  # the CUDA probe prints when devices are listed
    return tf
