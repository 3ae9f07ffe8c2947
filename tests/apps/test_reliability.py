"""What survives what: kills at every phase, divergence, bad starts, two processes, resume
with a lower learning rate (issue 13), through the shared runner (here: apps.classify).

Kills are injected deterministically (`KERASNOTES_FAIL_AT=phase:global_step` ends the
process with `os._exit` at that point, like kill -9), never timed. A killed run, and one run
per exit code the shell sees, is a subprocess (`python -m apps.classify`); the other runs are
the same `cli` in this process (`run_app_in_process`: no start-up cost).
"""

import fcntl
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.training.callbacks.fault_injection import FAULT_EXIT_CODE
from tests.apps.app_runner import error_lines as app_error_lines
from tests.apps.app_runner import run_app, run_app_in_process

# Softmax regression on 200 glyphs, batches of 50: 4 steps per epoch, 2 epochs, checkpoints
# every 2 steps. Seconds per run.
TINY = ["--model", "softmax", "--epochs", "2", "--num-train", "200", "--num-test", "50",
        "--batch-size", "50", "--checkpoint-every-n-steps", "2", "--verbose", "0"]


def run(cwd, *extra, poison_at=None):
    """`python -m apps.classify TINY EXTRA`, run in this process."""
    env = {"KERASNOTES_POISON_AT": str(poison_at)} if poison_at else None
    return run_app_in_process("classify", [*TINY, *extra], cwd, env=env)


def run_subprocess(cwd, *extra, fail_at=None, poison_at=None):
    """The same run as `run`, as a user starts it: in a process of its own (which
    `KERASNOTES_FAIL_AT` ends)."""
    env = {}
    if fail_at:
        env["KERASNOTES_FAIL_AT"] = fail_at
    if poison_at:
        env["KERASNOTES_POISON_AT"] = str(poison_at)
    return run_app("classify", [*TINY, *extra], cwd, env=env)


def model_weights(run_dir):
    """The model variables of the newest checkpoint, by name."""
    path = tf.train.latest_checkpoint(os.path.join(run_dir, "checkpoints"))
    reader = tf.train.load_checkpoint(path)
    return {name: reader.get_tensor(name)
            for name in reader.get_variable_to_shape_map()
            if name.startswith("model/") and "OPTIMIZER_SLOT" not in name}


def error_lines(result):
    return app_error_lines(result, "classify")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("uninterrupted")
    result = run(cwd)
    assert result.returncode == 0, result.stderr
    return model_weights(cwd / "runs/classify/softmax")


@pytest.mark.parametrize("fail_at", [
    "after_step:3",        # mid-epoch, one step after a checkpoint
    "after_checkpoint:2",  # right after the in-epoch checkpoint
    "after_checkpoint:4",  # in-epoch checkpoint on the epoch's last step (step == steps)
    "validation:4",        # ... then killed during validation: used to never resume
    "epoch_end:4",         # after validation, before the epoch-end checkpoint
    "validation:8",        # the last epoch's validation
    "export",              # while the SavedModel is written
])
def test_a_kill_at_any_phase_resumes_to_the_uninterrupted_weights(tmp_path, uninterrupted,
                                                                  fail_at):
    killed = run_subprocess(tmp_path, fail_at=fail_at)
    assert killed.returncode == FAULT_EXIT_CODE, killed.stderr
    resumed = run(tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    weights = model_weights(tmp_path / "runs/classify/softmax")
    assert weights.keys() == uninterrupted.keys()
    for name, value in uninterrupted.items():
        np.testing.assert_allclose(weights[name], value, atol=1e-6, err_msg=name)
    exports = tmp_path / "saved_models/classify"
    assert sorted(os.listdir(exports)) == ["1"]  # the killed export left no .export-* behind


def test_divergence_saves_and_exports_nothing_and_exits_3(tmp_path):
    # NaN weights after step 6 (epoch 2): the guard stops at step 7; ckpt-6 holds the NaN
    # weights only if saving skipped the check, so the newest must stay the last good one.
    first = run_subprocess(tmp_path, poison_at=6)  # exit code 3 as the shell sees it
    assert first.returncode == 3, first.stderr
    (line,) = error_lines(first)
    assert "NaN or infinite" in line or "nan" in line
    assert "ckpt-4" in line  # names the last good checkpoint
    checkpoints = tmp_path / "runs/classify/softmax/checkpoints"
    assert tf.train.latest_checkpoint(str(checkpoints)).endswith("ckpt-4")
    assert not (tmp_path / "saved_models/classify").exists()
    for name, value in model_weights(tmp_path / "runs/classify/softmax").items():
        assert np.isfinite(value).all(), name


def test_divergence_on_the_epochs_last_step_is_caught_before_the_checkpoint(tmp_path):
    # Poisoned after step 4, the epoch's last: no training step sees it; the validation
    # check and the finite-weights check before saving must.
    result = run(tmp_path, poison_at=4)
    assert result.returncode == 3, result.stderr
    assert len(error_lines(result)) == 1
    checkpoints = tmp_path / "runs/classify/softmax/checkpoints"
    assert tf.train.latest_checkpoint(str(checkpoints)).endswith("ckpt-2")
    assert not (tmp_path / "saved_models/classify").exists()


@pytest.mark.parametrize("lr", ["inf", "nan", "1e39", "-1", "0"])
def test_absurd_learning_rates_are_refused_at_parse_time(tmp_path, lr):
    result = run(tmp_path, "--lr", lr)
    assert result.returncode == 2
    assert "argument --lr" in result.stderr
    assert not (tmp_path / "runs").exists()


def test_resume_with_a_lower_learning_rate_is_allowed_used_and_recorded(tmp_path):
    first = run_subprocess(tmp_path, fail_at="epoch_end:4")
    assert first.returncode == FAULT_EXIT_CODE
    resumed = run(tmp_path, "--lr", "0.001")
    assert resumed.returncode == 0, resumed.stderr
    assert "changed settings: lr 0.01 -> 0.001" in resumed.stdout
    config = json.loads((tmp_path / "runs/classify/softmax/config.json").read_text())
    assert config["lr"] == 0.001
    assert config["history"][-1]["changed"] == {"lr": {"from": 0.01, "to": 0.001}}
    reader = tf.train.load_checkpoint(str(tmp_path / "runs/classify/softmax/checkpoints"))
    rates = [reader.get_tensor(n) for n in reader.get_variable_to_shape_map()
             if n.startswith("optimizer/") and "learning_rate" in n]
    np.testing.assert_allclose(rates, [0.001])


def test_a_failed_start_does_not_block_the_next_command(tmp_path):
    failed = run(tmp_path, "--data", "idx:/no/such/folder")
    assert failed.returncode == 2
    assert len(error_lines(failed)) == 1
    assert not (tmp_path / "runs/classify/softmax/config.json").exists()
    assert run(tmp_path).returncode == 0


def test_no_resume_never_resumes_a_folder_with_checkpoints(tmp_path):
    assert run_subprocess(tmp_path, fail_at="after_checkpoint:2").returncode == FAULT_EXIT_CODE
    (tmp_path / "runs/classify/softmax/config.json").unlink(missing_ok=True)
    fresh = run(tmp_path, "--no-resume")
    assert fresh.returncode == 0, fresh.stderr
    assert "Resuming" not in fresh.stdout
    assert "moved the previous run to" in fresh.stdout
    assert len([p for p in os.listdir(tmp_path / "runs/classify") if ".old-" in p]) == 1


def test_a_truncated_config_json_is_named_in_one_line(tmp_path):
    folder = tmp_path / "runs/classify/softmax"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text('{"task": "classify", "lr"')
    result = run(tmp_path)
    assert result.returncode == 2
    (line,) = error_lines(result)
    assert "config.json is not valid JSON" in line


def test_a_second_process_on_the_same_run_folder_is_refused(tmp_path):
    folder = tmp_path / "runs/classify/softmax"
    folder.mkdir(parents=True)
    with open(folder / ".lock", "a+") as lock:  # this test process plays the first run
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        lock.write("4242\n")
        lock.flush()
        result = run(tmp_path)
    assert result.returncode == 2
    (line,) = error_lines(result)
    assert f"run folder {os.path.join('runs', 'classify', 'softmax')} is in use" in line
    assert "PID 4242" in line
    assert not (tmp_path / "saved_models").exists()
