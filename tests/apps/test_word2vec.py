"""apps.word2vec end to end on a tiny config: a first run, a binary corpus and a killed run as
a user runs them (subprocesses), the other runs through the same `cli` in this process."""

import functools
import os
import subprocess
import sys
import types

import numpy as np
import pytest

from apps import word2vec
from kerasnotes.ops.word2vec_kernel import build
from tests.apps import app_runner

TINY = ["--max-sentences", "600", "--min-count", "3", "--batch-size", "128",
        "--embedding-dim", "8", "--verbose", "2", "--log-every-n-steps", "2", "--top-k", "3"]

# Runs in a fresh interpreter that never imports kerasnotes.
LOAD_AND_QUERY = """
import json, sys
import tensorflow as tf
served = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
out = served(tokens=tf.constant(["file", "no-such-word-xyz"]))
print(json.dumps({k: v.numpy().tolist() if v.dtype != tf.string else
                  [[w.decode() for w in row] for row in v.numpy()] for k, v in out.items()}))
assert "kerasnotes" not in sys.modules
"""


run_app = functools.partial(app_runner.run_app, "word2vec")
run_in_process = functools.partial(app_runner.run_app_in_process, "word2vec")


event_tags = app_runner.event_tags


def test_train_probe_projector_export_and_resume(tmp_path):
    run_dir, export_dir = tmp_path / "run", tmp_path / "export"
    args = [*TINY, "--logdir", str(run_dir), "--export-dir", str(export_dir),
            "--probe-words", "file,string"]
    first = run_app([*args, "--epochs", "1"], tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "standard library docstrings" in first.stdout
    assert "Nearest words after epoch 1:" in first.stdout and "  file: " in first.stdout
    assert "words_per_second" in first.stdout and "train_loss" in first.stdout
    assert f"Exported SavedModel: {export_dir / '1'}" in first.stdout
    if build.compiler() is not None:
        assert "Training path: C++ kernel (Hogwild SGD" in first.stdout
    # The fused path trains through the Trainer: its callbacks write the usual scalars.
    assert {"epoch_loss", "epoch_words_per_second", "epoch_learning_rate",
            "epoch_examples_per_second"} <= event_tags(run_dir / "train")
    assert "nearest_words" in event_tags(run_dir / "validation")

    second = run_in_process([*args, "--epochs", "2"], tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    assert f"Resuming from {run_dir / 'checkpoints' / 'ckpt-1'}: epoch 2, step 0" in second.stdout
    assert "Epoch 2/2" in second.stdout and "Epoch 1/2" not in second.stdout

    projector = run_dir / "projector"
    tokens = (projector / "metadata.tsv").read_text().splitlines()
    vectors = np.loadtxt(projector / "vectors.tsv", delimiter="\t")
    assert tokens[0] == "<unk>" and "file" in tokens and vectors.shape == (len(tokens), 8)
    assert "vectors.tsv" in (projector / "projector_config.pbtxt").read_text()

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    served = subprocess.run([sys.executable, "-c", LOAD_AND_QUERY, str(export_dir / "2")],
                            capture_output=True, text=True, timeout=120, cwd=str(tmp_path),
                            env=env)
    assert served.returncode == 0, served.stderr[-3000:]
    import json

    out = json.loads(served.stdout.strip().splitlines()[-1])
    assert out["ids"][1] == 0  # unknown token -> <unk>
    assert len(out["vectors"][0]) == 8 and len(out["neighbors"][0]) == 3
    assert "file" not in out["neighbors"][0] and "<unk>" not in out["neighbors"][0]
    index = tokens.index("file")
    np.testing.assert_allclose(out["vectors"][0], vectors[index], rtol=1e-4, atol=1e-5)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    similarities = unit @ unit[index]
    similarities[[0, index]] = -np.inf
    expected = [tokens[i] for i in np.argsort(-similarities)[:3]]
    assert out["neighbors"][0] == expected


@pytest.mark.parametrize("args, message", [
    (["--probe-words", "file,zzzqqq"], "'zzzqqq' is not in the vocabulary"),
    (["--min-count", "100000"], "min_count=100000"),
    (["--window", "0"], "--window"),  # and --negatives, same argparse check
    (["--data", "wikipedia"], "unrecognized arguments: --data"),  # its corpus: --corpus
    (["--optimizer", "rmsprop"], "--optimizer"),
    (["--model", "glove"], "argument --model: invalid choice: 'glove'"),
    (["--loss", "softmax"], "argument --loss: invalid choice: 'softmax'"),
    (["--strategy", "mirrored"], "--strategy mirrored: the fused word2vec path trains in one"),
    (["--implementation", "kernel"], "--implementation"),
    (["--precision", "mixed_bfloat16"],
     "--precision mixed_bfloat16: the fused word2vec path trains in float32; use "
     "--implementation keras"),
])
def test_bad_input_gives_one_clear_line(tmp_path, args, message):
    result = run_in_process([*TINY, "--logdir", str(tmp_path / "run"), *args], tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_empty_corpus_file_is_refused(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    result = run_in_process(["--corpus", str(empty), "--logdir", str(tmp_path / "run")],
                            tmp_path)
    assert result.returncode == 2 and "empty" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_binary_corpus_file_gives_one_error_line_naming_file_and_line(tmp_path):
    binary = tmp_path / "corpus.bin"
    binary.write_bytes(b"the cat sat\non the mat\n\x89PNG\r\n\x1a\n\x00\xff\xfe")
    result = run_app(["--corpus", str(binary), "--logdir", str(tmp_path / "run")], tmp_path,
                     timeout=120)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if "word2vec: error:" in line]
    assert errors == [f"python -m apps.word2vec: error: {binary}, line 3: not a text file "
                      "(byte 0x89 is not UTF-8); expected a PTB-format corpus (one sentence "
                      "per line) saved as UTF-8 text"]
    assert "Traceback" not in result.stderr


def test_help_and_defaults(capsys):
    with pytest.raises(SystemExit) as exit_info:
        word2vec.parse_args(["--help"])
    assert exit_info.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert ("every N steps (the fused path's steps: kernel calls of ~100k words, or TF steps "
            "of ~4096 words)") in help_text
    config = word2vec.parse_args([])
    assert (config.model, config.loss, config.corpus, config.window, config.negatives,
            config.subsample, config.min_count) == ("skipgram", "negative", None, 5, 5, 1e-4, 5)
    assert config.optimizer == "lazy_adam"
    assert (config.implementation, config.lr, config.min_lr) == ("fused", 0.1, 1e-4)
    assert word2vec.parse_args(["--implementation", "keras"]).lr == 0.01
    assert word2vec.parse_args(["--lr", "0.5"]).lr == 0.5


def test_without_a_compiler_the_fused_tf_path_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("CXX", "/nonexistent/c++")
    monkeypatch.setenv("KERASNOTES_OPS_CACHE", str(tmp_path / "empty-cache"))
    result = run_in_process([*TINY, "--epochs", "2", "--logdir", str(tmp_path / "run"),
                             "--export-dir", str(tmp_path / "export")], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    notices = [line for line in result.stdout.splitlines() if line.startswith("notice:")]
    assert notices == ["notice: the C++ word2vec kernel is unavailable (no C++ compiler "
                       "(CXX='/nonexistent/c++' not found)); training with the fused TF ops "
                       "path"]
    assert "Training path: fused TF ops" in result.stdout and "Epoch 2/2" in result.stdout
    assert "Exported SavedModel" in result.stdout and "Traceback" not in result.stderr


def test_keras_implementation_trains_the_notes_models(tmp_path):
    run_dir = tmp_path / "run"
    result = run_in_process([*TINY, "--implementation", "keras", "--epochs", "1", "--logdir",
                             str(run_dir), "--export-dir", str(tmp_path / "export")], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Training path" not in result.stdout and "train_loss" in result.stdout
    assert {"epoch_loss", "batch_loss", "examples_per_second"} <= event_tags(run_dir / "train")


@pytest.mark.parametrize("model, loss", [("cbow", "negative"), ("skipgram", "hierarchical"),
                                         ("cbow", "hierarchical")])
def test_fused_path_trains_cbow_and_hierarchical_softmax(tmp_path, model, loss):
    result = run_in_process([*TINY, "--model", model, "--loss", loss, "--epochs", "2",
                             "--logdir", str(tmp_path / "run"), "--export-dir",
                             str(tmp_path / "export")], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    losses = [float(line.split("loss: ")[1].split(" ")[0])
              for line in result.stdout.splitlines() if line.startswith("Epoch ")]
    # CBOW starts slowly from word2vec's tiny initial vectors (its input gradient is
    # divided by the window's size): on this tiny corpus the loss may stay near log 2.
    assert len(losses) == 2 and losses[1] <= losses[0] <= 0.6932
    assert "Training path: " in result.stdout and "Exported SavedModel" in result.stdout


def keras_model(config, counts):
    """`(model, loss, optimizer)` of the app's keras path for a vocabulary of `counts`."""
    corpus = types.SimpleNamespace(counts=np.asarray(counts), token_ids=np.zeros(0, np.int32),
                                   sentence_ids=np.zeros(0, np.int32))
    return word2vec.keras_path(config, corpus, "float32")[:3]


def test_optimizer_flag_chooses_the_optimizer():
    import keras

    from kerasnotes.optimizers.lazy_adam import LazyAdam
    from kerasnotes.optimizers.sgd import SGD

    expected = {"lazy_adam": LazyAdam, "adam": keras.optimizers.Adam, "sgd": SGD}
    for name, cls in expected.items():
        config = word2vec.parse_args(["--implementation", "keras", "--optimizer", name,
                                      "--lr", "0.5", "--embedding-dim", "4"])
        model, _, optimizer = keras_model(config, np.arange(1, 11))
        assert type(optimizer) is cls and model.name == "skipgram_negative"
        assert float(keras.ops.convert_to_numpy(optimizer.learning_rate)) == 0.5


@pytest.mark.parametrize("model, loss, model_class, output, loss_class", [
    ("skipgram", "negative", "SkipGram", "negative_sampling", "MaskedBinaryCrossEntropy"),
    ("skipgram", "hierarchical", "SkipGram", "hierarchical_softmax", "HierarchicalSoftmaxLoss"),
    ("cbow", "negative", "CBOW", "negative_sampling", "MaskedBinaryCrossEntropy"),
    ("cbow", "hierarchical", "CBOW", "hierarchical_softmax", "HierarchicalSoftmaxLoss"),
])
def test_model_and_loss_flags_give_the_keras_model_its_output_and_its_loss(
        model, loss, model_class, output, loss_class):
    from kerasnotes import losses, models

    config = word2vec.parse_args(["--implementation", "keras", "--model", model, "--loss", loss,
                                  "--embedding-dim", "4"])
    network, loss_object, _ = keras_model(config, [0, 50, 40, 30, 20, 10, 9, 8])
    assert type(network) is getattr(models, model_class) and network.output_type == output
    assert network.built and network.name == f"{model}_{loss}"
    assert network.word_vectors.shape == (8, 4)
    assert type(loss_object) is getattr(losses, loss_class)


@pytest.mark.parametrize("model, loss, precision", [
    ("skipgram", "hierarchical", "mixed_bfloat16"), ("cbow", "negative", "mixed_float16")])
def test_keras_path_trains_in_mixed_precision_and_exports_float32(tmp_path, model, loss,
                                                                   precision):
    import tensorflow as tf

    export_dir = tmp_path / "export"
    result = run_in_process([*TINY, "--implementation", "keras", "--model", model, "--loss",
                             loss, "--precision", precision, "--epochs", "1", "--logdir",
                             str(tmp_path / "run"), "--export-dir", str(export_dir)], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Precision: {precision} (as asked)" in result.stdout
    assert "Nearest words after epoch 1:" in result.stdout and "train_loss" in result.stdout
    served = tf.saved_model.load(str(export_dir / "1")).signatures["serving_default"]
    outputs = served.structured_outputs
    assert outputs["vectors"].dtype == tf.float32 and outputs["similarities"].dtype == tf.float32
    out = served(tokens=tf.constant(["file"]))
    assert out["vectors"].shape == (1, 8) and np.all(np.isfinite(out["vectors"].numpy()))


def test_fused_path_checkpoints_every_n_steps_and_resumes_inside_the_epoch(tmp_path):
    # The TF path's steps are ~4096 words: the tiny corpus (5.8k words) takes 2 per epoch.
    run_dir = tmp_path / "run"
    args = [*TINY, "--implementation", "fused_tf", "--epochs", "1", "--logdir", str(run_dir),
            "--export-dir", str(tmp_path / "export"), "--checkpoint-every-n-steps", "1"]
    killed = run_app(args, tmp_path, env={"KERASNOTES_FAIL_AT": "after_checkpoint:1"})
    assert killed.returncode == 97, killed.stderr[-3000:]
    assert (run_dir / "checkpoints" / "ckpt-1.index").exists()
    assert "Epoch 1/1" not in killed.stdout
    resumed = run_in_process(args, tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    line = next(line for line in resumed.stdout.splitlines() if line.startswith("Resuming"))
    checkpoint = run_dir / "checkpoints" / "ckpt-1"
    assert line == f"Resuming from {checkpoint}: epoch 1, step 1 of that epoch"
    assert "Epoch 1/1 - loss: " in resumed.stdout and "Exported SavedModel" in resumed.stdout
    assert (run_dir / "checkpoints" / "ckpt-2.index").exists()


def test_the_flag_choices_are_the_library_names():
    # The app keeps copies (importing the library would load TensorFlow for --help).
    import pkgutil

    import keras

    from kerasnotes.data.text import word2vec_examples
    from kerasnotes.optimizers import SGD, LazyAdam

    assert tuple(word2vec.MODELS) == word2vec_examples.MODELS  # the fused path's names
    assert tuple(word2vec.LOSSES) == word2vec_examples.LOSSES
    classes = {name: pkgutil.resolve_name(path) for name, path in word2vec.OPTIMIZERS.items()}
    assert classes == {"lazy_adam": LazyAdam, "adam": keras.optimizers.Adam, "sgd": SGD}


def test_the_app_help_of_a_common_flag_keeps_its_check(capsys):
    # --lr and --checkpoint-every-n-steps have word2vec's own help and the common checks.
    with pytest.raises(SystemExit) as raised:
        word2vec.parse_args(["--lr", "0"])
    assert raised.value.code == 2
    assert "argument --lr: must be a positive number" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        word2vec.parse_args(["--checkpoint-every-n-steps", "0"])
    assert "--checkpoint-every-n-steps: must be a positive integer" in capsys.readouterr().err


def test_the_memory_estimate_of_the_flags():
    from kerasnotes.utils import memory_budget

    assert memory_budget.embedding_memory(1000, 8) == 2 * 4 * 1000 * 8
    assert memory_budget.embedding_memory(1000, 8, 2, 50) == 4 * 8 * (2 * 1000 * 3 + 50)
