"""Running an app as a user does, and reading what it wrote for TensorBoard."""

import os
import subprocess
import sys

import tensorflow as tf


def run_app(task, args, cwd, timeout=300, env=None):
    """`python -m apps.<task> ARGS` in a subprocess started in `cwd`; returns the result.

    `env` adds environment variables (e.g. the fault-injection `KERASNOTES_FAIL_AT`).
    """
    env = dict(os.environ, PYTHONPATH=os.getcwd(), **(env or {}))
    return subprocess.run([sys.executable, "-m", f"apps.{task}", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


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
