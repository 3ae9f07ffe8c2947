"""Builds a C++ TensorFlow custom op of kerasnotes on first use into a per-user cache, and
loads it (the word2vec, batch-norm + ReLU and convolution kernels use it).

TF's documented recipe: the system C++ compiler with `tf.sysconfig.get_compile_flags()` and
`get_link_flags()`, loaded with `tf.load_op_library`. The library goes to

    $KERASNOTES_OPS_CACHE (default ~/.cache/kerasnotes/ops)/<tf version>-<hash>/

where the hash covers the source and the project's headers it includes (`#include "..."`,
found next to it), the compiler flags and the CPU (the build uses `-march=native`): a new
TF version or an edited source or header gets a fresh build, an unchanged one is reused. A
file lock keeps two processes from building the same library at once; the library is
written under a temporary name and renamed into place. `$CXX` names the compiler (default
`c++`); when it is missing or the build fails, `load_custom_op` raises `KernelUnavailable`
with a one-line reason.
"""

import fcntl
import hashlib
import os
import platform
import re
import shutil
import subprocess
import tempfile

COMPILE_FLAGS = ("-std=c++17", "-shared", "-fPIC", "-O3", "-fopenmp-simd", "-w")
# Added to COMPILE_FLAGS, tried in order until one builds. Some CPUs (or the CPU model a VM
# reports) make `-march=native` enable AVX512-FP16, whose half-precision packet code in the
# Eigen headers TF ships does not compile with g++ 12; the kernels need none of it. An older
# compiler that does not know `-mno-avx512fp16` falls to the next set, and a compiler
# without `-march=native` to the portable build.
ARCH_FALLBACKS = (("-march=native", "-mno-avx512fp16"), ("-march=native",), ("-march=x86-64-v2",))
ALL_FLAGS = COMPILE_FLAGS + sum(ARCH_FALLBACKS, ())  # what the cache key hashes


class KernelUnavailable(RuntimeError):
    """A C++ kernel cannot be built or loaded here (no compiler, failed build, ...)."""


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def cache_root():
    """The cache folder of built ops: `$KERASNOTES_OPS_CACHE` or ~/.cache/kerasnotes/ops."""
    if os.environ.get("KERASNOTES_OPS_CACHE"):
        return os.environ["KERASNOTES_OPS_CACHE"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "kerasnotes", "ops")


def cache_key(tf_version, source_text, flags=ALL_FLAGS, cpu=None):
    """The cache folder name `<tf version>-<16 hex digits>` of one build.

    The digits hash the source text, the compiler flags and the CPU model, so any of them
    changing (or TF's version) selects another folder and therefore a new build.

    Example:

    >>> cache_key("2.21.0", "// source")[:7]
    '2.21.0-'
    """
    digest = hashlib.sha256()
    for part in (source_text, " ".join(flags), cpu if cpu is not None else _cpu_model(),
                 platform.machine()):
        digest.update(part.encode())
        digest.update(b"\0")
    return f"{tf_version}-{digest.hexdigest()[:16]}"


_LOCAL_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)


def source_text(source):
    """The text of `source` followed by that of each header it includes with quotes that
    exists relative to its folder (the project's own headers; TF's resolve elsewhere), and
    of theirs in turn, each once: what a build of `source` compiles of this project."""
    texts, seen, pending = [], set(), [os.path.abspath(source)]
    while pending:
        path = pending.pop(0)
        if path in seen:
            continue
        seen.add(path)
        with open(path) as f:
            text = f.read()
        texts.append(text)
        folder = os.path.dirname(path)
        for name in _LOCAL_INCLUDE.findall(text):
            header = os.path.normpath(os.path.join(folder, name))
            if os.path.isfile(header):
                pending.append(header)
    return "\0".join(texts)


def library_path(source, library_name, tf_version=None):
    """Where the library of `source` (a .cc path) for this TF version lives (built or not)."""
    import tensorflow as tf

    key = cache_key(tf_version or tf.__version__, source_text(source))
    return os.path.join(cache_root(), key, library_name)


def compiler():
    """The C++ compiler: `$CXX`, else `c++` or `g++` on the PATH; None when there is none."""
    named = os.environ.get("CXX")
    if named:
        return shutil.which(named) or (named if os.access(named, os.X_OK) else None)
    return shutil.which("c++") or shutil.which("g++")


def compile_commands(cxx, source, output):
    """The build commands to try in order, one per ARCH_FALLBACKS entry."""
    import tensorflow as tf

    return [[cxx, *COMPILE_FLAGS, *arch, source, "-o", output,
             *tf.sysconfig.get_compile_flags(), *tf.sysconfig.get_link_flags()]
            for arch in ARCH_FALLBACKS]


def build_library(path, cxx, source):
    """Compiles `source` into `path` (under a file lock; a no-op if another process did)."""
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(path):
            return path
        handle, temporary = tempfile.mkstemp(suffix=".so", dir=folder)
        os.close(handle)
        try:
            first_error = None
            for command in compile_commands(cxx, source, temporary):
                result = subprocess.run(command, capture_output=True, text=True, timeout=600)
                if result.returncode == 0:
                    break
                lines = [line for line in result.stderr.splitlines()
                         if "error" in line.lower()]  # g++'s and the assembler's
                first_error = first_error or (lines or ["?"])[0][:200]
            else:
                raise KernelUnavailable(f"the C++ build failed: {first_error}")
            os.replace(temporary, path)
        finally:
            if os.path.exists(temporary):
                os.remove(temporary)
    return path


def load_custom_op(source, library_name, loaded):
    """The op module of `source`, built on first use; `loaded` (the caller's dict) keeps the
    modules already loaded in this process, by library path.

    Raises:
        KernelUnavailable: no compiler, or the build or the load failed.
    """
    import tensorflow as tf

    path = library_path(source, library_name)
    if path in loaded:
        return loaded[path]
    if not os.path.exists(path):
        cxx = compiler()
        if cxx is None:
            raise KernelUnavailable(f"no C++ compiler (CXX={os.environ.get('CXX', 'c++')!r} "
                                    "not found)")
        try:
            build_library(path, cxx, source)
        except OSError as error:
            raise KernelUnavailable(f"the C++ build could not run: {error}") from None
        except subprocess.TimeoutExpired:
            raise KernelUnavailable("the C++ build timed out") from None
    try:
        module = tf.load_op_library(path)
    except (tf.errors.NotFoundError, OSError) as error:
        raise KernelUnavailable(f"the built kernel does not load: {str(error)[:200]}") from None
    loaded[path] = module
    return module
