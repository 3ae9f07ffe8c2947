"""Running an app as a user does, and reading what it wrote for TensorBoard.

`run_app` starts `python -m apps.<task>` in a subprocess: for what only a fresh process
shows (exit codes seen by the shell, TensorFlow's start-up lines, kills by fault injection,
SIGTERM). `run_app_in_process` runs the same `run_cli` in the test's process, without the
5-10 s of Python and TensorFlow start-up: for everything else (bad-input errors, run-folder
checks, messages, exit codes). Both return an object with `returncode`, `stdout`, `stderr`.

    result = run_app_in_process("classify", ["--data", "idx:/no/such/dir"], tmp_path)
    assert result.returncode == 2 and "/no/such/dir" in error_lines(result, "classify")[0]
"""

import contextlib
import importlib
import io
import os
import subprocess
import sys

import keras
import tensorflow as tf

from apps.runner import run_cli


def run_app(task, args, cwd, timeout=300, env=None):
    """`python -m apps.<task> ARGS` in a subprocess started in `cwd`; returns the result.

    `env` adds environment variables (e.g. the fault-injection `KERASNOTES_FAIL_AT`).
    """
    env = dict(os.environ, PYTHONPATH=os.getcwd(), **(env or {}))
    return subprocess.run([sys.executable, "-m", f"apps.{task}", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def run_app_in_process(task, args, cwd, env=None):
    """`python -m apps.<task> ARGS` (its `run_cli`) in this process, in `cwd`; returns the
    result as `run_app`.

    The exit code is the `SystemExit` code `run_cli` raises (0 when it returns); stdout and
    stderr are the app's Python-level output (not C-level writes, e.g. TensorFlow's logs).
    An exception `run_cli` does not turn into an exit code propagates, traceback and all: where
    a subprocess would print a traceback, the test fails. `env` adds environment variables
    for the run only; the working directory, the environment and the Keras dtype policy are
    restored afterwards.
    """
    module = importlib.import_module(f"apps.{task}")
    env = {key: str(value) for key, value in (env or {}).items()}
    saved_env = {key: os.environ.get(key) for key in env}
    saved_cwd = os.getcwd()
    saved_policy = keras.mixed_precision.dtype_policy()
    stdout, stderr = io.StringIO(), io.StringIO()
    returncode = 0
    try:
        os.environ.update(env)
        os.chdir(cwd)
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                predict = getattr(module, "add_predict_flags", None) and (
                    module.add_predict_flags, module.predict)
                run_cli(task, module.main, module.parse_args, [str(arg) for arg in args],
                        predict=predict)
            except SystemExit as exit_:
                returncode = _exit_code(exit_.code, stderr)
    finally:
        os.chdir(saved_cwd)
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        keras.mixed_precision.set_dtype_policy(saved_policy)
    return subprocess.CompletedProcess([f"apps.{task}.cli", *args], returncode,
                                       stdout.getvalue(), stderr.getvalue())


def _exit_code(code, stderr):
    """The exit status a process would have after `sys.exit(code)`."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=stderr)  # sys.exit("message") prints the message, exits with 1
    return 1


def event_tags(folder):
    """Every summary tag in the TensorBoard event files of `folder`."""
    tags = set()
    for name in os.listdir(folder):
        for event in tf.compat.v1.train.summary_iterator(os.path.join(folder, name)):
            tags.update(value.tag for value in event.summary.value)
    return tags


def error_lines(result, task):
    """The app's own `error:` lines in a run's stderr (TensorFlow's C++ log lines are not)."""
    return [line for line in result.stderr.splitlines()
            if line.startswith(f"python -m apps.{task}: error:")]
