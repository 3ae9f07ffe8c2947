"""apps.tabular end to end on a tiny config: a first run and a binary CSV as a user runs them
(subprocesses), the other runs through the same `cli` in this process (no start-up cost)."""

import csv
import functools
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from apps import tabular
from apps.runner import Run
from kerasnotes.data.tabular.house_prices import synthetic_house_prices, write_house_prices_csv
from kerasnotes.models.tabular_mlp import evaluate_log_rmse
from tests.apps import app_runner

TINY = ["--num-train", "48", "--num-test", "7", "--k-folds", "2", "--batch-size", "16",
        "--hidden-units", "8", "--verbose", "2", "--log-every-n-steps", "1"]

# Runs in a fresh interpreter that never imports kerasnotes: a client sending raw rows.
CLIENT = """
import json, sys
import numpy as np
import tensorflow as tf
columns = dict(np.load(sys.argv[2]))
served = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
out = served(**{name: tf.constant(values) for name, values in columns.items()})
np.savez(sys.argv[3], **{k: v.numpy() for k, v in out.items()})
print(json.dumps(sorted(out)))
assert "kerasnotes" not in sys.modules
"""


run_app = functools.partial(app_runner.run_app, "tabular")
run_in_process = functools.partial(app_runner.run_app_in_process, "tabular")


event_tags = app_runner.event_tags


def read_predictions(path):
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], [row[0] for row in rows[1:]], np.array([float(r[1]) for r in rows[1:]])


def test_cross_validation_predictions_export_and_resume(tmp_path):
    run_dir, export_dir = tmp_path / "run", tmp_path / "export"
    args = [*TINY, "--logdir", str(run_dir), "--export-dir", str(export_dir)]
    first = run_app([*args, "--epochs", "1"], tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    out = first.stdout
    assert "synthetic house prices" in out and "not real data" in out
    for k in (1, 2):
        assert f"fold {k}: train log-RMSE " in out
    assert "2-fold mean: train log-RMSE" in out and "mean_valid_log_rmse" in out
    assert f"Exported SavedModel: {export_dir / '1'}" in out
    assert {"epoch_loss", "epoch_log_rmse", "batch_loss"} <= event_tags(run_dir / "fold1" / "train")
    assert {"epoch_loss", "epoch_log_rmse"} <= event_tags(run_dir / "fold2" / "validation")
    assert (run_dir / "final" / "checkpoints").is_dir()

    # The same command with more epochs continues every fold from its checkpoint.
    second = run_in_process([*args, "--epochs", "2"], tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    assert second.stdout.count("Resuming from") == 3  # fold 1, fold 2, final
    assert "Epoch 2/2" in second.stdout and "Epoch 1/2" not in second.stdout
    scores = [float(line.split()[-1]) for line in second.stdout.splitlines()
              if line.startswith("fold ")]
    assert len(scores) == 2 and all(np.isfinite(scores))

    header, ids, predictions = read_predictions(run_dir / "predictions.csv")
    _, test = synthetic_house_prices(num_train=48, num_test=7, seed=0)
    assert header == ["Id", "SalePrice"] and ids == list(test.ids)
    assert np.all(predictions > 0)

    # A client sends the raw columns (numbers with NaN, strings) to the export, without
    # kerasnotes, and gets the predictions the app wrote; an unseen category still works.
    columns = dict(test.features)
    np.savez(tmp_path / "columns.npz", **columns)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-c", CLIENT, str(export_dir / "2"), str(tmp_path / "columns.npz"),
         str(tmp_path / "out.npz")],
        capture_output=True, text=True, timeout=120, cwd=str(tmp_path), env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == ["log_predictions",
                                                                  "predictions"]
    served = np.load(tmp_path / "out.npz")
    np.testing.assert_allclose(served["predictions"], predictions, rtol=1e-6)
    np.testing.assert_allclose(np.exp(served["log_predictions"]), served["predictions"],
                               rtol=1e-6)
    assert np.isnan(test.features["LotFrontage"]).any()  # missing numbers were sent


def test_kaggle_csv_files(tmp_path):
    train, test = synthetic_house_prices(num_train=40, num_test=5, seed=3)
    write_house_prices_csv(tmp_path / "train.csv", train)
    write_house_prices_csv(tmp_path / "test.csv", test)
    result = run_in_process([*TINY, "--epochs", "1", "--data", "csv:train.csv", "--test-csv",
                             "test.csv", "--predictions", "submission.csv", "--logdir", "run",
                             "--export-dir", "export", "--sampling", "with_replacement"],
                            tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "house-price CSV train.csv: 40 training rows, 7 numeric and 4 categorical" \
        in result.stdout
    _, ids, predictions = read_predictions(tmp_path / "submission.csv")
    assert ids == list(test.ids) and len(predictions) == 5


@pytest.mark.parametrize(
    "files, args, message",
    [
        ({}, ["--dropout", "1.0"], "--dropout: must be in [0, 1)"),
        ({"t.csv": "Id,LotArea\n1,8450\n"}, ["--data", "csv:t.csv"],
         "no target column 'SalePrice'"),
    ],
)
def test_bad_input_gives_one_clear_line(tmp_path, files, args, message):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    result = run_in_process([*TINY, "--epochs", "1", "--logdir", "run", *args], tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def binary_file(path, seed=0):
    """4 KiB of random bytes (not UTF-8 text: the first invalid byte comes early)."""
    path.write_bytes(np.random.default_rng(seed).bytes(4096))
    return path


@pytest.mark.parametrize("flag", ["--data", "--test-csv"])
def test_binary_csv_gives_one_error_line_naming_the_file(tmp_path, flag):
    binary_file(tmp_path / "blob.csv")
    data = ["--data", "csv:blob.csv"] if flag == "--data" else ["--test-csv", "blob.csv"]
    run = run_app if flag == "--data" else run_in_process  # one as a user runs it
    result = run([*TINY, "--epochs", "1", "--logdir", "run", *data], tmp_path)
    assert result.returncode == 2, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if ": error:" in line]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr[-3000:]
    assert errors[0].startswith("python -m apps.tabular: error: ")
    assert "blob.csv, line " in errors[0] and "not a text file" in errors[0]
    assert not (tmp_path / "run" / "config.json").exists()  # nothing blocks the next run


@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_trains_and_exports_float32(tmp_path, precision):
    import tensorflow as tf

    result = run_in_process([*TINY, "--epochs", "1", "--precision", precision, "--logdir",
                             "run", "--export-dir", "export"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    folds = [i for i, line in enumerate(lines) if line.startswith("fold ")]
    assert len(folds) == 2
    for i in folds:
        # The fold's score (of the float32 copy that is exported) is the trained model's
        # own validation log-RMSE, up to the 16-bit rounding of the hidden layer.
        trained = float(lines[i - 1].split("val_log_rmse: ")[1])
        assert abs(float(lines[i].split()[-1]) - trained) < 0.02, (lines[i - 1], lines[i])
    served = tf.saved_model.load(str(tmp_path / "export" / "1")).signatures["serving_default"]
    inputs = served.structured_input_signature[1]
    assert inputs["LotArea"].dtype == tf.float32 and inputs["MSZoning"].dtype == tf.string
    assert all(spec.dtype == tf.float32 for spec in served.structured_outputs.values())
    # The export predicts what the app wrote to the predictions CSV.
    _, test = synthetic_house_prices(num_train=48, num_test=7, seed=0)
    out = served(**{name: tf.constant(values) for name, values in test.features.items()})
    _, _, predictions = read_predictions(tmp_path / "run" / "predictions.csv")
    np.testing.assert_allclose(out["predictions"].numpy(), predictions, rtol=1e-6)


@pytest.mark.parametrize(
    "text, args, message",
    [
        ("Id,LotArea,SalePrice\n1,8450,1\n2,9600,2\n3,x1,3\n", [],
         "t.csv, line 4: column 'LotArea'"),
        ("", [], "t.csv is empty"),
        ("Id,LotArea,Price\n1,8450,1\n", ["--target", "SalePrice"], "no target column"),
        ("Id,LotArea,SalePrice\n" + "".join(f"{i},{i},{i}\n" for i in range(1, 6)), [],
         "needs at least 8 training rows"),
    ],
)
def test_bad_csv_is_refused_before_training(tmp_path, text, args, message):
    # The same errors the app prints as one line (see above), raised by its data step.
    (tmp_path / "t.csv").write_text(text)
    config = tabular.parse_args(["--data", f"csv:{tmp_path / 't.csv'}", "--k-folds", "4",
                                 *args])
    with pytest.raises(ValueError, match=message):
        tabular.load_data(config)
    with pytest.raises(ValueError, match="'synthetic' or 'csv:PATH'"):
        tabular.load_data(tabular.parse_args(["--data", "train.csv"]))


@pytest.mark.parametrize(
    "args, message",
    [
        (["--lr", "-0.1"], "--lr: must be a positive number"),
        (["--dropout", "-0.2"], "--dropout: must be in [0, 1)"),
        (["--weight-decay", "-1"], "--weight-decay: must be >= 0"),
        (["--k-folds", "1"], "--k-folds: must be an integer >= 2"),
        (["--sampling", "bootstrap"], "--sampling"),
        (["--hidden-units", "64,x"], "--hidden-units: must be comma-separated positive"),
    ],
)
def test_bad_flags_are_usage_errors(capsys, args, message):
    with pytest.raises(SystemExit) as exit_info:
        tabular.parse_args(args)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_trains_under_mirrored_strategy(tmp_path, mirrored_strategy, monkeypatch):
    from kerasnotes.training import strategy

    monkeypatch.setattr(strategy, "choose_strategy", lambda name: mirrored_strategy)
    config = tabular.parse_args([*TINY, "--epochs", "1", "--dropout", "0.2", "--logdir",
                                 str(tmp_path / "run")])
    train, _ = synthetic_house_prices(num_train=32, num_test=0, seed=0)
    with Run(config, tabular.run_name(config)) as run:
        assert run.strategy is mirrored_strategy
        model = tabular.train_one(run, train, "fold1")
    assert (tmp_path / "run" / "fold1" / "checkpoints").is_dir()
    assert np.isfinite(evaluate_log_rmse(model, train.features, train.targets, 16))


def test_defaults_and_help():
    config = tabular.parse_args([])
    assert (config.data, config.k_folds, config.target, config.dropout) == (
        "synthetic", 5, "SalePrice", 0.1)
    with pytest.raises(SystemExit) as exit_info:
        tabular.parse_args(["--help"])
    assert exit_info.value.code == 0


@pytest.mark.slow
def test_default_config_quality(tmp_path):
    # The default run (5 folds x 40 epochs on 1000 synthetic rows; the noise alone gives
    # a log-RMSE of 0.08) reached a mean validation log-RMSE of 0.1005 when measured.
    result = run_app(["--verbose", "0", "--logdir", "run", "--export-dir", "export"], tmp_path,
                     timeout=1200)
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(t for t in result.stdout.splitlines() if t.startswith("5-fold mean"))
    assert float(line.split()[-1]) < 0.13, line


def test_the_sampling_choices_are_the_library_modes():
    # apps/flags.py keeps a copy (importing the library would load TensorFlow for --help).
    from apps import flags
    from kerasnotes.data.tabular.minibatch_sampling import SAMPLING_MODES

    assert flags.SAMPLING_MODES == SAMPLING_MODES
