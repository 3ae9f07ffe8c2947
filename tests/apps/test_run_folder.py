"""Run-folder names from user paths, a run folder's identity (its real path), and the
export's leftovers after a kill."""

import dataclasses
import json
import os
import shutil
import subprocess
import sys

import pytest
import tensorflow as tf

from apps.flags import RunConfig, safe_name
from apps.runner import RUN_FOLDER_WORDS
from kerasnotes.serving.export import TEMPORARY_PREFIX, export_saved_model
from kerasnotes.training.run_folder import RunFolder


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


@dataclasses.dataclass
class DemoConfig(RunConfig):
    task: str = "demo"
    epochs: int = 10
    batch_size: int = 256
    lr: float = 0.1
    data: str = "synthetic"
    export_dir: str = None
    precision: str = "float32"


def start(logdir, **settings):
    """One start of a run in `logdir`, as the runner does it; returns the closed folder."""
    logdir = logdir or os.path.join("runs", "demo", "run")  # the default, as apps.runner.Run
    folder = RunFolder(logdir, DemoConfig(logdir=logdir, **settings), **RUN_FOLDER_WORDS)
    folder.open()
    folder.write_config()
    folder.close()
    return folder


def respell(tmp_path, spelling):
    """`runs/x` spelled another way (after `mv` for "moved"); cwd is `tmp_path`."""
    if spelling == "symlink":
        os.symlink(tmp_path / "runs/x", tmp_path / "link")
        return "link"
    if spelling == "moved":
        (tmp_path / "elsewhere").mkdir()
        shutil.move(tmp_path / "runs/x", tmp_path / "elsewhere/y")
        return "elsewhere/y"
    return {"dot": "./runs/x", "absolute": str(tmp_path / "runs/x"),
            "dotdot": "runs/../runs/x", "slash": "runs/x/"}[spelling]


@pytest.mark.parametrize("spelling", ["dot", "absolute", "dotdot", "slash", "symlink", "moved"])
def test_another_spelling_of_the_same_folder_resumes_it(tmp_path, monkeypatch, spelling):
    monkeypatch.chdir(tmp_path)
    start("runs/x", lr=0.1)
    logdir = respell(tmp_path, spelling)
    folder = start(logdir, lr=0.1)  # would raise "holds a run with other settings" before
    assert folder.changes == {}
    config = json.loads((tmp_path / logdir / "config.json").read_text())
    assert config["logdir"] == logdir  # kept as information: the spelling of the last start
    assert [entry["run_folder"] for entry in config["history"]] == [
        str(tmp_path / "runs/x"), os.path.realpath(logdir)]


@pytest.mark.parametrize("spelling", ["dot", "absolute", "symlink"])
def test_the_lock_holds_the_folder_under_any_spelling(tmp_path, monkeypatch, spelling):
    monkeypatch.chdir(tmp_path)
    first = RunFolder("runs/x", DemoConfig(logdir="runs/x"), **RUN_FOLDER_WORDS).open()
    try:
        logdir = respell(tmp_path, spelling)
        with pytest.raises(ValueError, match=f"run folder {logdir} is in use by another "
                                             f"process \\(PID {os.getpid()}\\)"):
            RunFolder(logdir, DemoConfig(logdir=logdir), **RUN_FOLDER_WORDS).open()
    finally:
        first.close()


def test_other_settings_are_still_refused_and_logdir_is_never_among_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    start("runs/x", seed=1, lr=0.1)
    with pytest.raises(ValueError) as refused:
        start("./runs/x", seed=2, lr=0.1)
    assert "holds a run with other settings (seed: 1 -> 2)" in str(refused.value)
    assert "logdir:" not in str(refused.value)
    resumed = start(str(tmp_path / "runs/x"), seed=1, lr=0.01, epochs=20)
    assert resumed.changes == {"epochs": (10, 20), "lr": (0.1, 0.01)}


def test_the_default_folder_and_its_explicit_spelling_are_one_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    default = start(None)
    assert default.path == os.path.join("runs", "demo", "run")
    assert start(str(tmp_path / "runs/demo/run")).changes == {}
