"""Run-folder ownership (issue 21): only a folder this project created is used as a run
folder and moved aside by --no-resume, and every input is checked before the run folder is
locked, moved or compared with the saved settings."""

import dataclasses
import importlib
import json
import os
import pathlib
import re

import pytest

from apps.runner import RUN_FOLDER_WORDS
from kerasnotes.training.run_folder import (
    CONFIG_NAME,
    LOCK_NAME,
    MARKER_NAME,
    RunFolder,
    is_run_entry,
)
from tests.apps.app_runner import error_lines, run_app_in_process
from tests.apps.test_run_folder import DemoConfig
from tests.folder_snapshot import file_contents

APPS = pathlib.Path(__file__).parents[2] / "apps"


def start(logdir, **settings):
    """One start of a run in `logdir`, as the runner does it; returns the closed folder."""
    folder = RunFolder(str(logdir), DemoConfig(logdir=str(logdir), **settings),
                       **RUN_FOLDER_WORDS)
    folder.open()
    folder.write_config()
    folder.close()
    return folder


def finished_run(folder, **settings):
    """A run folder as a finished run leaves it: mark, config.json, a checkpoint, events."""
    start(folder, **settings)
    (folder / "checkpoints").mkdir()
    (folder / "checkpoints" / "ckpt-8.index").write_bytes(b"index")
    (folder / "train").mkdir()
    (folder / "train" / "events.out.tfevents.1").write_bytes(b"events")


def moved_aside(folder):
    return [name for name in os.listdir(folder.parent) if name.startswith(folder.name + ".old-")]


@pytest.fixture
def work(tmp_path, monkeypatch):
    """The working directory `tmp_path/work`, with the user's own folder `../victim`."""
    (tmp_path / "work").mkdir()
    (tmp_path / "victim").mkdir()
    (tmp_path / "victim" / "thesis.tex").write_text("\\chapter{Two years of work}")
    monkeypatch.chdir(tmp_path / "work")
    return tmp_path / "work"


# --- what a run folder may be -------------------------------------------------------------

def test_a_new_run_folder_gets_the_mark(work):
    start("runs/x")
    mark = json.loads((work / "runs/x" / MARKER_NAME).read_text())
    assert mark["task"] == "demo" and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d",
                                                   mark["created"])
    assert sorted(os.listdir(work / "runs/x")) == sorted([MARKER_NAME, LOCK_NAME, CONFIG_NAME])


@pytest.mark.parametrize("resume", [True, False])
def test_the_users_own_folder_is_never_used_nor_moved(work, resume):
    before = file_contents(work.parent / "victim")
    with pytest.raises(ValueError) as refused:
        start("../victim", resume=resume)
    message = str(refused.value)
    assert message.startswith("run folder ../victim is an existing folder that this project "
                              "did not create")
    assert "'thesis.tex'" in message and "choose an empty or new folder" in message
    assert file_contents(work.parent / "victim") == before  # not even a .lock written
    assert not moved_aside(work.parent / "victim")


@pytest.mark.parametrize("logdir, what", [
    (".", "the working directory"),
    ("WORK", "the working directory"),
    ("..", "a folder containing the working directory"),
    ("../work/../work", "the working directory"),
    ("/", "the filesystem root"),
    ("HOME", "the home folder"),
])
@pytest.mark.parametrize("resume", [True, False])
def test_the_working_directory_its_parents_home_and_root_are_refused(work, monkeypatch, logdir,
                                                                     what, resume):
    home = work.parent / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    logdir = {"WORK": str(work), "HOME": str(home)}.get(logdir, logdir)
    folder = RunFolder(logdir, DemoConfig(logdir=logdir, resume=resume), **RUN_FOLDER_WORDS)
    with pytest.raises(ValueError, match=f"is {what}; a run needs a folder of its own"):
        folder.check()
    with pytest.raises(ValueError, match=what):  # open() checks first: nothing is written
        folder.open()
    assert os.listdir(work) == [] and os.listdir(home) == []


def test_an_empty_working_directory_is_refused_too(work):
    with pytest.raises(ValueError, match="is the working directory"):
        start(".", resume=False)
    assert os.listdir(work) == []


def test_a_file_is_not_a_run_folder(work):
    (work / "notes.txt").write_text("mine")
    for logdir in ["notes.txt", "notes.txt/run"]:
        with pytest.raises(ValueError, match=r"is a file, not a folder"):
            start(logdir)
    assert (work / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("entries", [["train", "validation"], ["checkpoints"], ["config.json",
                                                                               "data.csv"]])
def test_a_folder_without_the_mark_that_is_not_a_runs_layout_is_refused(work, entries):
    user = work / "dataset"
    user.mkdir()
    for name in entries:
        if "." in name:
            (user / name).write_text("{}")
        else:
            (user / name).mkdir()
    before = file_contents(user)
    with pytest.raises(ValueError, match="did not create"):
        start("dataset", resume=False)
    assert file_contents(user) == before and sorted(os.listdir(user)) == sorted(entries)


def test_a_folder_holding_only_a_lock_is_a_failed_start_and_is_used(work):
    (work / "runs/x").mkdir(parents=True)
    (work / "runs/x" / LOCK_NAME).write_text("4242\n")
    start("runs/x")
    assert (work / "runs/x" / MARKER_NAME).is_file()


# --- --no-resume --------------------------------------------------------------------------

def test_no_resume_moves_a_finished_run_aside_and_marks_the_new_folder(work):
    finished_run(work / "runs/x")
    before = file_contents(work / "runs/x")
    start("runs/x", resume=False)
    (aside,) = moved_aside(work / "runs/x")
    moved = file_contents(work / "runs" / aside)
    assert moved.pop(LOCK_NAME).strip() == str(os.getpid()).encode()  # this process locked it
    assert moved == {k: v for k, v in before.items() if k != LOCK_NAME}
    assert sorted(os.listdir(work / "runs/x")) == sorted([MARKER_NAME, LOCK_NAME, CONFIG_NAME])


def test_no_resume_twice_in_the_same_second_keeps_both_old_runs(work, monkeypatch):
    monkeypatch.setattr("kerasnotes.training.run_folder.time.strftime",
                        lambda form: "20260101-000000")
    finished_run(work / "runs/x")
    for _ in range(2):
        (work / "runs/x" / "train").mkdir(exist_ok=True)
        start("runs/x", resume=False)
    assert sorted(moved_aside(work / "runs/x")) == ["x.old-20260101-000000",
                                                    "x.old-20260101-000000-2"]


def test_no_resume_never_moves_a_run_folder_holding_a_foreign_file(work):
    finished_run(work / "runs/x")
    (work / "runs/x" / "notes.txt").write_text("my notes on this run")
    before = file_contents(work / "runs/x")
    with pytest.raises(ValueError) as refused:
        start("runs/x", resume=False)
    assert str(refused.value).startswith("--no-resume: run folder runs/x holds 'notes.txt', "
                                         "which no run wrote, so it is not moved aside")
    assert file_contents(work / "runs/x") == before and not moved_aside(work / "runs/x")
    start("runs/x")  # resuming only writes a run's own names: allowed


def test_the_names_the_apps_write_are_a_runs(work):
    # Literal names joined to the run folder in the apps, plus the ones built from variables.
    sources = {name: (APPS / name).read_text() for name in os.listdir(APPS)
               if name.endswith(".py")}
    written = {name for text in sources.values()
               for name in re.findall(r'run\.run_dir, "([^"]+)"', text)}
    assert {"detections.png", "predictions.csv", "source_model.keras", "stylized.png",
            "vocabulary.json"} <= written
    from apps.optimizers import NAMES as OPTIMIZER_NAMES

    phases = re.findall(r'fit\(run, "(\w+)"', sources["finetune.py"])
    written |= {*OPTIMIZER_NAMES, *phases, "fold1", "fold12", "final", "projector", "train",
                "validation", "checkpoints", CONFIG_NAME, CONFIG_NAME + ".tmp"}
    assert set(phases) == {"source", "finetune", "scratch"}
    assert all(is_run_entry(name) for name in written), sorted(
        n for n in written if not is_run_entry(n))
    assert not any(is_run_entry(name) for name in ["thesis.tex", "fold", "foldx", "data"])


# --- run folders of earlier versions (config.json, no mark) -------------------------------

def legacy_run(folder, **settings):
    finished_run(folder, **settings)
    (folder / MARKER_NAME).unlink()


def test_an_earlier_versions_run_folder_resumes_and_gets_the_mark(work):
    legacy_run(work / "runs/x", lr=0.1)
    folder = start("runs/x", lr=0.05)
    assert folder.changes == {"lr": (0.1, 0.05)}
    assert (work / "runs/x" / MARKER_NAME).is_file()


def test_an_earlier_versions_run_folder_is_moved_aside_by_no_resume(work):
    legacy_run(work / "runs/x")
    start("runs/x", resume=False)
    assert len(moved_aside(work / "runs/x")) == 1


def test_an_earlier_versions_folder_with_a_foreign_file_is_refused(work):
    legacy_run(work / "runs/x")
    (work / "runs/x" / "thesis.tex").write_text("mine")
    before = file_contents(work / "runs/x")
    for resume in (True, False):
        with pytest.raises(ValueError, match=r"did not create .*'thesis.tex'"):
            start("runs/x", resume=resume)
    assert file_contents(work / "runs/x") == before and not moved_aside(work / "runs/x")


def test_an_earlier_versions_folder_whose_config_is_not_a_runs_is_not_moved(work):
    legacy_run(work / "runs/x")
    (work / "runs/x" / CONFIG_NAME).write_text('{"task": "demo", "lr"')
    before = file_contents(work / "runs/x")
    with pytest.raises(ValueError, match=r"--no-resume: .* has no \.kerasnotes-run mark and "
                                         r"its config.json is not a run's"):
        start("runs/x", resume=False)
    with pytest.raises(ValueError, match="config.json is not valid JSON"):
        start("runs/x")
    assert not moved_aside(work / "runs/x")
    assert {k: v for k, v in file_contents(work / "runs/x").items() if k != LOCK_NAME} == {
        k: v for k, v in before.items() if k != LOCK_NAME}  # no mark written either


# --- every input before any side effect ---------------------------------------------------

# A missing input of each app (the standard flow and the apps that give `train(run)`).
MISSING_INPUTS = [
    ("classify", ["--data", "idx:/no/such/dir"], "/no/such/dir"),
    ("ssd", ["--data", "banana:/no/such/dir"], "/no/such/dir"),
    ("segmentation", ["--voc-dir", "/no/such/dir"], "/no/such/dir"),
    ("style_transfer", ["--content", "/no/such/content.png"], "/no/such/content.png"),
    ("language_model", ["--text", "/no/such/text.txt"], "/no/such/text.txt"),
    ("word2vec", ["--corpus", "/no/such/corpus.txt"], "/no/such/corpus.txt"),
    ("tabular", ["--data", "csv:/no/such/train.csv"], "/no/such/train.csv"),
    ("optimizers", ["--csv", "/no/such/data.csv"], "/no/such/data.csv"),
    ("finetune", ["--data", "/no/such/dir"], "/no/such/dir"),
]


@pytest.mark.parametrize("task, missing, name", MISSING_INPUTS)
@pytest.mark.parametrize("no_resume", [False, True])
def test_a_missing_input_is_named_first_and_the_finished_run_stays(work, task, missing, name,
                                                                   no_resume):
    app = importlib.import_module(f"apps.{task}")
    folder = work / "runs" / task
    finished_run(folder)  # a finished run of other settings: those of DemoConfig
    saved = app.parse_args(["--logdir", str(folder)])
    (folder / CONFIG_NAME).write_text(json.dumps(dict(dataclasses.asdict(saved), history=[])))
    before = file_contents(folder)
    with pytest.raises((ValueError, OSError)) as refused:
        app.main(app.parse_args([*missing, "--logdir", str(folder),
                                 *(["--no-resume"] if no_resume else [])]))
    message = str(refused.value)
    assert name in message, message
    assert "other settings" not in message
    assert file_contents(folder) == before and not moved_aside(folder)


def test_no_resume_with_a_missing_data_folder_keeps_the_finished_run(tmp_path):
    # End to end, as the issue ran it: a finished run, then --no-resume with a typo in --data.
    tiny = ["--model", "softmax", "--epochs", "1", "--num-train", "200", "--num-test", "50",
            "--batch-size", "50", "--verbose", "2"]
    assert run_app_in_process("classify", tiny, tmp_path).returncode == 0
    folder = tmp_path / "runs/classify/softmax"
    before = file_contents(folder)
    failed = run_app_in_process("classify", [*tiny, "--no-resume", "--data", "idx:/no/such/dir"],
                                tmp_path)
    assert failed.returncode == 2
    (line,) = error_lines(failed, "classify")
    assert "/no/such/dir" in line and "other settings" not in line
    assert file_contents(folder) == before and not moved_aside(folder)
    resumed = run_app_in_process("classify", [*tiny, "--epochs", "2"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "Resuming from" in resumed.stdout and "Epoch 2/2" in resumed.stdout


def test_a_moved_run_folder_resumes_from_its_checkpoint(tmp_path):
    tiny = ["--model", "softmax", "--num-train", "200", "--num-test", "50", "--batch-size",
            "50", "--verbose", "2"]
    first = run_app_in_process("classify", [*tiny, "--epochs", "1", "--logdir", "runs/x"],
                               tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    (tmp_path / "elsewhere").mkdir()
    os.rename(tmp_path / "runs/x", tmp_path / "elsewhere/y")
    os.symlink(tmp_path / "elsewhere/y", tmp_path / "link")
    resumed = run_app_in_process("classify", [*tiny, "--epochs", "2", "--logdir", "link"],
                                 tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "Resuming from" in resumed.stdout and "epoch 2" in resumed.stdout
    assert "Epoch 1/2" not in resumed.stdout
    user = tmp_path / "victim"
    user.mkdir()
    (user / "thesis.tex").write_text("mine")
    refused = run_app_in_process("classify", [*tiny, "--logdir", "../victim", "--no-resume"],
                                 tmp_path / "elsewhere")
    assert refused.returncode == 2
    (line,) = error_lines(refused, "classify")
    assert "../victim" in line and "'thesis.tex'" in line
    assert os.listdir(user) == ["thesis.tex"] and not moved_aside(user)
