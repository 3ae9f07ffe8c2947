"""What a new user meets in the first hour: flags, help, start-up lines, run folder names."""

import os
import subprocess
import sys

import pytest

from apps import classify, segmentation, ssd
from apps.flags import run_name_with_data
from kerasnotes.utils.tensorflow_startup import HARMLESS_STARTUP_LINES
from tests.apps.app_runner import run_app_in_process


def parse_failure(parse_args, argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv)
    assert exit_info.value.code == 2
    return capsys.readouterr().err.splitlines()


def test_a_flag_prefix_is_not_taken_for_the_flag_and_the_error_comes_first(capsys):
    lines = parse_failure(classify.parse_args, ["--epoch", "3"], capsys)
    assert lines == ["python -m apps.classify: error: unrecognized arguments: --epoch 3 "
                     "(--epoch: did you mean --epochs?)",
                     "python -m apps.classify --help lists the flags"]


def test_a_word_far_from_every_flag_gets_no_hint(capsys):
    lines = parse_failure(ssd.parse_args, ["--bogus"], capsys)
    assert lines[0] == "python -m apps.ssd: error: unrecognized arguments: --bogus"
    assert not any(line.startswith("usage:") for line in lines)


def test_a_bad_value_is_one_error_line_without_the_usage_block(capsys):
    lines = parse_failure(classify.parse_args, ["--epochs", "x"], capsys)
    assert lines[0].startswith("python -m apps.classify: error: argument --epochs: ")
    assert len(lines) == 2 and not any(line.startswith("usage:") for line in lines)


def test_help_shows_only_the_flags_of_the_app_and_its_real_default_folder(capsys):
    with pytest.raises(SystemExit):
        ssd.parse_args(["--help"])
    ssd_help = " ".join(capsys.readouterr().out.split())
    assert "--data-dir" not in ssd_help and "<model>" not in ssd_help
    assert "(default runs/ssd/tiny_ssd; another --data gets a folder of its own)" in ssd_help
    with pytest.raises(SystemExit):
        classify.parse_args(["--help"])
    classify_help = " ".join(capsys.readouterr().out.split())
    assert "--data-dir DATA_DIR folder of prepared TFDS datasets" in classify_help
    assert "(default runs/classify/lenet;" in classify_help


@pytest.mark.parametrize("name, data, expected", [
    ("tiny_ssd", "synthetic", "tiny_ssd"),
    ("fcn", None, "fcn"),
    ("lenet", "idx:~/fashion", "lenet-idx-fashion"),
    ("tiny_ssd", "banana:/data/banana-detection", "tiny_ssd-banana-banana-detection"),
    ("lenet", "fashion_mnist", "lenet-fashion_mnist"),
    ("fcn", "/x/VOCdevkit/VOC2012", "fcn-VOC2012"),
])
def test_the_default_run_folder_is_named_after_the_data_too(name, data, expected):
    assert run_name_with_data(name, data) == expected


def test_another_data_source_gets_its_own_default_run_folder():
    assert classify.run_name(classify.parse_args([])) == "lenet"
    config = classify.parse_args(["--data", "idx:/somewhere/fashion"])
    assert classify.run_name(config) == "lenet-idx-fashion"
    config = ssd.parse_args(["--data", "voc:/data/VOC2012"])
    assert ssd.run_name(config) == "tiny_ssd-voc-VOC2012"
    config = segmentation.parse_args(["--data", "voc", "--voc-dir", "/data/VOC2012"])
    assert segmentation.run_name(config) == "fcn-VOC2012"


@pytest.mark.parametrize("line, harmless", [
    ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
     True),
    ("I0000 00:00:1796551885.891111    6232 port.cc:153] oneDNN custom operations are on. You "
     "may see slightly different numerical results", True),
    ("I0000 00:00:1796551885.891402    6232 cudart_stub.cc:31] Could not find cuda drivers on "
     "your machine, GPU will not be used.", True),
    ("E0000 00:00:1796551887.841794    6232 cuda_platform.cc:52] failed call to cuInit: "
     "INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)", True),
    ("python -m apps.classify: error: data folder /x does not exist", False),
    ("E0000 00:00:1796551887.841794 ring_alg.cc:12] something real", False),
])
def test_only_the_harmless_start_up_lines_are_hidden(line, harmless):
    assert bool(HARMLESS_STARTUP_LINES.search(line)) == harmless


def test_a_run_prints_no_tensorflow_start_up_lines_and_plain_epoch_lines_to_a_log(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run(
        [sys.executable, "-m", "apps.classify", "--model", "softmax", "--epochs", "1",
         "--num-train", "64", "--num-test", "32", "--batch-size", "32"],
        cwd=tmp_path, env=dict(env, PYTHONPATH=os.getcwd()), capture_output=True, text=True,
        timeout=300)
    assert result.returncode == 0, result.stderr
    assert "CUDA" not in result.stderr and "oneDNN" not in result.stderr, result.stderr
    assert "I0000" not in result.stderr and "E0000" not in result.stderr, result.stderr
    # stdout is a pipe, not a terminal: one plain line per epoch, as a log file wants it
    assert "\r" not in result.stdout and "\x1b" not in result.stdout, result.stdout
    (epoch_line,) = [line for line in result.stdout.splitlines() if line.startswith("Epoch ")]
    assert epoch_line.startswith("Epoch 1/1 - loss: ") and epoch_line.count("val_loss") == 1


def test_a_debug_run_shows_everything(tmp_path):
    result = run_app_in_process("classify", ["--epoch", "1"], tmp_path,
                                env={"KERASNOTES_DEBUG": "1"})
    assert result.returncode == 2  # argparse errors stay one line even when debugging
    assert "did you mean --epochs?" in result.stderr



def test_checks_that_load_tensorflow_early_print_no_start_up_lines(tmp_path):
    # apps.optimizers reads the optimizers' default hyperparameters (TensorFlow) while it
    # checks its flags, before the run starts.
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run(
        [sys.executable, "-m", "apps.optimizers", "--epochs", "1", "--optimizers", "sgd",
         "--num-rows", "100", "--verbose", "0"],
        cwd=tmp_path, env=dict(env, PYTHONPATH=os.getcwd()), capture_output=True, text=True,
        timeout=300)
    assert result.returncode == 0, result.stderr
    assert "I0000" not in result.stderr and "oneDNN" not in result.stderr, result.stderr
