"""apps.language_model end to end on a tiny config: a first run and a missing file as a user
runs them (subprocesses), the other runs through the same `cli` or `main` in this process."""

import functools
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from apps import language_model
from tests.apps import app_runner

TINY = ["--max-chars", "6000", "--units", "16", "--batch-size", "4", "--num-steps", "8",
        "--generate-length", "12", "--log-every-n-steps", "5", "--verbose", "2"]

# Runs in a fresh interpreter that never imports kerasnotes.
LOAD_AND_GENERATE = """
import json, sys
import tensorflow as tf
served = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
out = served(prefix=tf.constant(sys.argv[2]), length=tf.constant(int(sys.argv[3])))
print(json.dumps({k: (v.numpy().decode() if v.dtype == tf.string else int(v))
                  for k, v in out.items()}))
assert "kerasnotes" not in sys.modules
"""


run_app = functools.partial(app_runner.run_app, "language_model")
run_in_process = functools.partial(app_runner.run_app_in_process, "language_model")


event_tags = app_runner.event_tags


def test_train_generate_export_tensorboard_and_resume(tmp_path):
    run_dir, export_dir = tmp_path / "run", tmp_path / "export"
    args = [*TINY, "--logdir", str(run_dir), "--export-dir", str(export_dir),
            "--prefixes", "The |Return "]
    first = run_app([*args, "--epochs", "1"], tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "standard-library docstrings" in first.stdout and "sequential sampling" in first.stdout
    assert "validation_perplexity:" in first.stdout
    assert "validation_perplexity_3gram_baseline" in first.stdout
    # The comparison with the n-gram is a paired test with its uncertainty (issue 13).
    verdict = next(line for line in first.stdout.splitlines()
                   if line.startswith("GRU vs 3-gram on the same validation windows"))
    assert "95% CI [" in verdict and "pairs):" in verdict, verdict
    assert re.search(r"pairs\): (the GRU beats the 3-gram \(p[=<]|the 3-gram beats the GRU "
                     r"\(p[=<]|no significant difference \(p=)", verdict), verdict
    assert f"Exported SavedModel: {export_dir / '1'}" in first.stdout
    assert (run_dir / "vocabulary.json").exists() and (run_dir / "config.json").exists()
    assert {"epoch_loss", "epoch_perplexity", "batch_loss"} <= event_tags(run_dir / "train")
    assert {"epoch_perplexity", "generated_text"} <= event_tags(run_dir / "validation")

    second = run_in_process([*args, "--epochs", "2"], tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Resuming from" in second.stdout and "Epoch 2/2" in second.stdout
    assert "Epoch 1/2" not in second.stdout

    # The export generates, without kerasnotes, the text the app printed for the prefix.
    printed = [line for line in second.stdout.splitlines() if line.startswith("  'Return ' -> ")]
    assert len(printed) == 1
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    served = subprocess.run(
        [sys.executable, "-c", LOAD_AND_GENERATE, str(export_dir / "2"), "Return ", "12"],
        capture_output=True, text=True, timeout=120, cwd=str(tmp_path), env=env)
    assert served.returncode == 0, served.stderr[-3000:]
    out = json.loads(served.stdout.strip().splitlines()[-1])
    assert printed[0] == f"  'Return ' -> {out['text']!r}"
    assert out["text"] == "Return " + out["generated"] and out["unknown_tokens"] == 0


def test_chinese_text_bidirectional_trains_but_does_not_generate(tmp_path, capsys):
    text = "想要有直升机\n想要和你飞到宇宙去\n想要和你融化在一起\n融化在宇宙里\n" * 30
    path = tmp_path / "lyrics.txt"
    path.write_text(text, encoding="utf-8")
    metrics, export_path = language_model.main(language_model.parse_args([
        *TINY, "--text", str(path), "--bidirectional", "--sampling", "random", "--cell",
        "lstm", "--layers", "2", "--epochs", "1", "--logdir", str(tmp_path / "run"),
        "--export-dir", str(tmp_path / "export"), "--implementation", "scratch"]))
    shown = capsys.readouterr().out
    assert export_path is None and not (tmp_path / "export").exists()
    assert "cannot generate" in shown
    assert f"vocabulary of {len(set(text)) + 1}" in shown  # every character, and <unk>
    assert metrics["validation_perplexity"] > 1


def test_word_level_random_sampling_generates(tmp_path, capsys):
    metrics, export_path = language_model.main(language_model.parse_args([
        *TINY, "--max-chars", "20000", "--token-level", "word", "--min-freq", "2",
        "--sampling", "random", "--cell", "rnn", "--embedding-dim", "8", "--epochs", "1",
        "--ngram", "2", "--logdir", str(tmp_path / "run"), "--export-dir",
        str(tmp_path / "export")]))
    shown = capsys.readouterr().out
    assert "word tokens" in shown and export_path.endswith("1")
    assert "validation_perplexity_2gram_baseline" in metrics
    served = tf.saved_model.load(export_path).signatures["serving_default"]
    out = served(prefix=tf.constant("Return the zyzzyva"), length=tf.constant(3))
    assert len(out["text"].numpy().decode().split()) == 6
    assert int(out["unknown_tokens"]) == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["--num-steps", "0"], "--num-steps"),
        (["--text", "BAD_UTF8"], "is not UTF-8"),
    ],
)
def test_bad_input_gives_one_clear_line(tmp_path, args, message):
    (tmp_path / "bad.txt").write_bytes("caf\xe9".encode("latin-1"))
    args = [str(tmp_path / "bad.txt") if a == "BAD_UTF8" else a for a in args]
    result = run_in_process([*TINY, "--logdir", str(tmp_path / "run"), *args], tmp_path)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--text", "EMPTY"], "is empty"),
        (["--text", "SHORT", "--batch-size", "64"], "too short"),
        (["--text", "SHORT", "--validation-fraction", "0.01"], "held-out"),
    ],
)
def test_bad_input_in_process(tmp_path, args, message):
    (tmp_path / "empty.txt").write_text("  \n", encoding="utf-8")
    (tmp_path / "short.txt").write_text("abcdefghij" * 12, encoding="utf-8")
    files = {"EMPTY": tmp_path / "empty.txt", "SHORT": tmp_path / "short.txt"}
    args = [str(files.get(a, a)) for a in args]
    with pytest.raises(ValueError, match=message):
        language_model.main(language_model.parse_args([*TINY, "--logdir", str(tmp_path / "run"),
                                                       *args]))


@pytest.mark.parametrize(
    "args, message",
    [
        (["--data", "ptb"], "unrecognized arguments: --data ptb"),  # the text is --text
        (["--temperature", "-1"], "argument --temperature: must be >= 0"),
        (["--validation-fraction", "0"], "--validation-fraction: must be in (0, 1)"),
        (["--validation-fraction", "1"], "--validation-fraction: must be in (0, 1), got 1"),
        (["--embedding-dim", "-2"], "--embedding-dim: must be an integer >= 0"),
        (["--ngram", "-1"], "--ngram: must be an integer >= 0"),
    ],
)
def test_bad_flags_are_argparse_errors(capsys, args, message):
    with pytest.raises(SystemExit) as exit_info:
        language_model.parse_args(args)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_bidirectional_needs_random_sampling():
    with pytest.raises(ValueError, match="^--bidirectional needs --sampling random: sequential "
                                         "sampling carries the hidden state left to right"):
        language_model.parse_args(["--bidirectional"])


def test_the_memory_estimate_of_the_flags():
    # The estimate of a flag setting (README, "Limits of the size flags"): weights with
    # gradients and two optimizer slots, and the float32 gates of one batch.
    from kerasnotes.utils import memory_budget

    gru = memory_budget.recurrent_memory("gru", 256, positions=32 * 35)
    assert gru == 16 * (3 * (1 + 256 + 1) * 256 + 256 * 2) + 4 * 32 * 35 * 256 * 4
    deep = memory_budget.recurrent_memory("lstm", 8, layers=2, bidirectional=True, inputs=5)
    first, second = 2 * 4 * (5 + 8 + 1) * 8, 2 * 4 * (16 + 8 + 1) * 8
    assert deep == 16 * (first + second + 16 * 2) + 4 * 2 * 2 * 8 * 5


def test_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.txt does not exist"):
        language_model.main(language_model.parse_args(
            [*TINY, "--text", str(tmp_path / "missing.txt"), "--logdir", str(tmp_path / "run")]))


def test_missing_text_file_gives_one_error_line_naming_it(tmp_path):
    missing = tmp_path / "lyrics.txt"
    result = run_app([*TINY, "--text", str(missing), "--logdir", str(tmp_path / "run")],
                     tmp_path, timeout=120)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if "error:" in line
              and line.startswith("python -m apps.language_model")]
    assert errors == [f"python -m apps.language_model: error: text file {missing} does not "
                      "exist"], result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "Errno" not in result.stderr
    assert not (tmp_path / "run" / "config.json").exists()


@pytest.fixture
def float32_afterwards():
    """In-process runs set the global Keras dtype policy: put float32 back afterwards."""
    yield
    import keras

    keras.mixed_precision.set_dtype_policy("float32")


@pytest.mark.usefixtures("float32_afterwards")
@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_trains_and_exports_float32_signatures(tmp_path, capsys, precision):
    metrics, export_path = language_model.main(language_model.parse_args([
        *TINY, "--epochs", "1", "--precision", precision, "--cell", "lstm",
        "--logdir", str(tmp_path / "run"), "--export-dir", str(tmp_path / "export")]))
    shown = capsys.readouterr().out
    assert np.isfinite(metrics["validation_perplexity"]) and export_path.endswith("1")
    served = tf.saved_model.load(export_path).signatures["serving_default"]
    assert {k: v.dtype for k, v in served.structured_input_signature[1].items()} == {
        "prefix": tf.string, "length": tf.int32}
    out = served(prefix=tf.constant("Return "), length=tf.constant(12))
    printed = next(line for line in shown.splitlines() if line.startswith("  'Return ' -> "))
    assert printed == f"  'Return ' -> {out['text'].numpy().decode()!r}"
    assert "validation windows" in shown


def test_help_and_visible_defaults(capsys):
    with pytest.raises(SystemExit) as exit_info:
        language_model.parse_args(["--help"])
    assert exit_info.value.code == 0
    shown = capsys.readouterr().out
    assert "--text PATH" in shown and "--export-dir" in shown and "--data" not in shown
    config = language_model.parse_args([])
    assert (config.cell, config.sampling, config.implementation, config.text) == (
        "gru", "sequential", "fused", None)
    assert not hasattr(config, "data")  # the embedded docstrings, or --text PATH
