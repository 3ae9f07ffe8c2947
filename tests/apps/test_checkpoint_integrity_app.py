"""Issue 21's damaged checkpoints and full disks, through apps.classify's command line
(`cli`, run in this process: what it checks does not depend on a fresh process):
`--epochs 2 --num-train 512 --num-test 128 --batch-size 64 --logdir R` (8 steps per
epoch: ckpt-8 and ckpt-16), then a damage, then a rerun with `--epochs 3`.

The full-disk cases mount a small tmpfs (root only; skipped otherwise) on the folder that
fills up, after a first run made the run folder.
"""

import glob
import os
import re

import numpy as np
import pytest
import tensorflow as tf

from tests.apps.app_runner import error_lines, run_app_in_process
from tests.small_disk import fill, small_disk

ARGS = ["--num-train", "512", "--num-test", "128", "--batch-size", "64", "--logdir", "R",
        "--verbose", "2"]


def classify(cwd, epochs, *extra):
    return run_app_in_process("classify", ["--epochs", str(epochs), *ARGS, *extra], cwd)


def notices(result):
    return [line for line in result.stderr.splitlines() if line.startswith("notice:")]


def model_weights(checkpoints):
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(checkpoints)))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
            if name.startswith("model/") and "OPTIMIZER_SLOT" not in name}


def contents(folder, pattern="*"):
    return {os.path.basename(p): open(p, "rb").read()
            for p in sorted(glob.glob(os.path.join(folder, pattern))) if os.path.isfile(p)}


@pytest.fixture(scope="module")
def three_epochs(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("uninterrupted")
    result = classify(cwd, 3)
    assert result.returncode == 0, result.stderr[-3000:]
    return model_weights(cwd / "R" / "checkpoints")


@pytest.fixture
def two_epochs(tmp_path):
    result = classify(tmp_path, 2)
    assert result.returncode == 0, result.stderr[-3000:]
    return tmp_path


def test_a_truncated_newest_checkpoint_costs_one_epoch_not_a_traceback(two_epochs,
                                                                       three_epochs):
    checkpoints = two_epochs / "R" / "checkpoints"
    (data,) = glob.glob(str(checkpoints / "ckpt-16.data-*"))
    os.truncate(data, os.path.getsize(data) // 5)
    result = classify(two_epochs, 3)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    (line,) = notices(result)
    assert "damaged checkpoint in R/checkpoints: ckpt-16 (a data file is shorter" in line
    assert "resuming from ckpt-8 instead: 8 steps lost" in line
    assert "Resuming from R/checkpoints/ckpt-8: epoch 2, step 0" in result.stdout
    assert glob.glob(str(checkpoints / "damaged" / "*" / "ckpt-16.data-*"))
    weights = model_weights(checkpoints)
    for name, expected in three_epochs.items():
        np.testing.assert_allclose(weights[name], expected, atol=1e-6, err_msg=name)


def test_a_deleted_state_file_resumes_instead_of_restarting(two_epochs):
    checkpoints = two_epochs / "R" / "checkpoints"
    os.remove(checkpoints / "checkpoint")
    before = contents(checkpoints)
    result = classify(two_epochs, 3)
    assert result.returncode == 0, result.stderr[-3000:]
    (line,) = notices(result)
    assert "R/checkpoints/checkpoint (the list of checkpoints) was missing; rebuilt" in line
    assert "Resuming from R/checkpoints/ckpt-16: epoch 3" in result.stdout
    assert "Epoch 1/3" not in result.stdout
    after = contents(checkpoints)
    assert {name: after[name] for name in before} == before  # ckpt-8, ckpt-16 untouched


def test_a_full_disk_in_the_run_folder_is_one_error_line_and_the_rerun_resumes(two_epochs):
    run_folder = str(two_epochs / "R")
    checkpoints = os.path.join(run_folder, "checkpoints")
    with small_disk(run_folder, "3m"):
        filler = fill(run_folder)  # full: config.json, written when training starts, fails
        full = classify(two_epochs, 3)
        assert full.returncode == 2, full.stderr[-3000:]
        assert "Traceback" not in full.stderr
        (line,) = error_lines(full, "classify")
        assert "error: R: No space left on device writing config.json" in line, line
        assert not os.path.exists(os.path.join(run_folder, "config.json.tmp"))

        os.remove(filler)
        filler = fill(run_folder, leave=300_000)  # room for the events, not a checkpoint
        before = contents(checkpoints)
        full = classify(two_epochs, 3)
        assert full.returncode == 2, full.stderr[-3000:]
        assert "Traceback" not in full.stderr
        (line,) = error_lines(full, "classify")
        assert re.search(r"error: R/checkpoints: no space left on device for checkpoint "
                         r"ckpt-24: it needs about 541 KB, \d+ KB free;", line), line
        assert "the previous checkpoints are intact (newest: ckpt-16)" in line
        assert contents(checkpoints) == before  # nothing partial, nothing recorded
        assert sorted(os.listdir(checkpoints)) == sorted(before)

        os.remove(filler)
        rerun = classify(two_epochs, 3)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        assert "Resuming from R/checkpoints/ckpt-16: epoch 3" in rerun.stdout
        assert tf.train.latest_checkpoint(checkpoints).endswith("ckpt-24")


def test_a_full_disk_at_the_export_is_one_error_line_and_the_rerun_exports(tmp_path):
    disk = str(tmp_path / "S")
    os.makedirs(disk)
    with small_disk(disk, "1m"):
        filler = fill(disk)
        full = classify(tmp_path, 1, "--export-dir", "S/classify")
        assert full.returncode == 2, full.stderr[-3000:]
        assert "Traceback" not in full.stderr
        (line,) = error_lines(full, "classify")
        assert ("error: S/classify: no space left on device for the SavedModel export: it "
                "needs at least") in line, line
        assert os.listdir(os.path.join(disk, "classify")) == []
        os.remove(filler)
        rerun = classify(tmp_path, 1, "--export-dir", "S/classify")
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        assert "Already trained for 1 epochs" in rerun.stdout
        assert "Exported SavedModel: S/classify/1" in rerun.stdout
