"""Run-folder names from user paths, and the export's leftovers after a kill."""

import os
import subprocess
import sys

import pytest
import tensorflow as tf

from apps.run_folder import safe_name
from kerasnotes.serving.export import TEMPORARY_PREFIX, export_saved_model


@pytest.mark.parametrize("text, expected", [
    (".", os.path.basename(os.getcwd())),
    ("..", os.path.basename(os.path.dirname(os.getcwd()))),
    ("", "run"),
    ("/", "run"),
    ("lenet", "lenet"),
    ("images/../photos/", "photos"),
    ("my data:set", "my_data_set"),
    ("~", os.path.basename(os.path.expanduser("~")) or "run"),
])
def test_safe_name_is_a_single_folder_name(text, expected):
    name = safe_name(text)
    assert name == expected
    assert name not in (".", "..", "") and os.sep not in name


def test_an_export_removes_the_temporaries_of_killed_exports_only(tmp_path):
    base = tmp_path / "saved_models" / "task"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    killed = base / f"{TEMPORARY_PREFIX}{dead}-abc123"
    killed.mkdir(parents=True)
    (killed / "variables").mkdir()
    alive = base / f"{TEMPORARY_PREFIX}{os.getpid()}-inuse"  # an export under way here
    alive.mkdir()

    class Module(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
        def serve(self, x):
            return {"y": x * 2.0}

    module = Module()
    path = export_saved_model(module, str(base), {"serving_default": module.serve})
    assert sorted(os.listdir(base)) == sorted([os.path.basename(path), alive.name])
