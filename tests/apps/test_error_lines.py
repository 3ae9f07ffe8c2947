"""Sizes beyond memory, a bad TF_CONFIG and unreadable label files: one `error:` line and
exit code 2, checked before TensorFlow allocates (issue 21).

The flag checks run in this process (`parse_args` raises the `ValueError` the runner prints);
a few cases run through the apps' command lines, one of them in a subprocess as a user runs it.
"""

import json
import os

import pytest

from apps import (
    classify,
    language_model,
    optimizers,
    segmentation,
    ssd,
    tabular,
    word2vec,
)
from kerasnotes.utils import memory_budget as memory_check
from tests.apps import app_runner

NO_LIMIT = 1 << 62  # a machine with "all the memory", to check that defaults pass


@pytest.mark.parametrize(
    "parse, argv, message",
    [
        (ssd.parse_args, ["--image-size", "100000"],
         r"^--image-size 100000 --batch-size 32 needs at least \d+\.\d TB of memory, more "
         r"than the .* of this machine; lower --image-size or --batch-size$"),
        (ssd.parse_args, ["--max-detections", "1000000000"],
         r"^--max-detections must be at most 1364, the number of anchors of TinySSD at "
         r"--image-size 128 .*received 1000000000$"),
        (ssd.parse_args, ["--image-size", "64", "--max-objects", "345"],
         r"^--max-objects must be at most 344, the number of anchors of TinySSD at "
         r"--image-size 64"),
        (segmentation.parse_args, ["--crop-size", "100000", "100000"],
         r"^--crop-size 100000 100000 --batch-size 32 needs at least .* TB of memory"),
        (language_model.parse_args, ["--units", "1000000"],
         r"^--cell gru --units 1000000 --layers 1 .* needs at least 48.0 TB of memory"),
        (language_model.parse_args, ["--embedding-dim", "1000000000"],
         r"^--cell gru --units 256 --layers 1 --embedding-dim 1000000000 .* needs at least"),
        (language_model.parse_args, ["--num-steps", "100000000", "--layers", "4"],
         r"--num-steps 100000000 --batch-size 32 needs at least .* TB of memory"),
    ],
)
def test_sizes_beyond_memory_are_refused_before_anything_runs(parse, argv, message):
    with pytest.raises(ValueError, match=message):
        parse(argv)


def test_flag_limits_that_argparse_checks(capsys):
    for parse, argv, message in [
        (ssd.parse_args, ["--max-detections", "1e9"], "must be a positive integer, got '1e9'"),
        (ssd.parse_args, ["--max-objects", "1001"],
         "--max-objects: must be at most 1000, got 1001"),
        (language_model.parse_args, ["--generate-length", "1000000000"],
         "argument --generate-length: must be at most 10000, got 1000000000"),
        (language_model.parse_args, ["--ngram", "100000"],
         "argument --ngram: must be at most 10, got 100000"),
        (word2vec.parse_args, ["--negatives", "1000000000"],
         "argument --negatives: must be at most 100, got 1000000000"),
        (tabular.parse_args, ["--hidden-units", "100000,100000,100000"],
         "argument --hidden-units: 100000,100000,100000 needs at least 320.0 GB of memory"),
        (optimizers.parse_args, ["--hidden-units", "10000000000"],
         "argument --hidden-units: 10000000000 needs at least 360.0 GB of memory"),
    ]:
        with pytest.raises(SystemExit) as raised:
            parse(argv)
        assert raised.value.code == 2
        assert message in capsys.readouterr().err


def test_classify_and_word2vec_memory_checks_use_the_data_sizes():
    # --batch-size larger than the data: the batch is the data (full-batch training).
    config = classify.parse_args(["--batch-size", "10000000"])
    classify.check_memory(config, (28, 28, 1), 10, num_train=60_000)
    for argv, message in [
        (["--resize", "100000"], r"^--model lenet --resize 100000 --batch-size 256 needs at "
                                 r"least 133.1 TB"),
        (["--model", "mlp", "--resize", "20000"], r"^--model mlp --resize 20000 --batch-size "
                                                  r"256 needs at least 2.0 TB"),
        (["--model", "alexnet", "--resize", "30000", "--width-divisor", "8"],
         r"^--model alexnet --resize 30000"),
    ]:
        with pytest.raises(ValueError, match=message):
            classify.check_memory(classify.parse_args(argv), (28, 28, 1), 10, 60_000)
    config = word2vec.parse_args(["--embedding-dim", "1000000000"])
    with pytest.raises(ValueError, match=r"^--embedding-dim 1000000000 \(a vocabulary of 1000 "
                                         r"words\) needs at least 8.0 TB"):
        word2vec.check_memory(config, 1000)
    config = word2vec.parse_args(["--implementation", "keras", "--window", "1000000",
                                  "--negatives", "100"])
    with pytest.raises(ValueError, match=r"with --batch-size 256 --window 1000000 --negatives "
                                         r"100 needs at least"):
        word2vec.check_memory(config, 1000)


def test_defaults_fit_and_the_limit_is_the_machine_memory(monkeypatch):
    monkeypatch.setattr(memory_check, "memory_budget", lambda: NO_LIMIT)
    for parse in (ssd.parse_args, segmentation.parse_args, language_model.parse_args,
                  tabular.parse_args, optimizers.parse_args):
        parse([])
    # The same defaults on a machine of 1 MB: the estimate is the limit, nothing else.
    monkeypatch.setattr(memory_check, "memory_budget", lambda: 1_000_000)
    for parse in (ssd.parse_args, segmentation.parse_args, language_model.parse_args):
        with pytest.raises(ValueError, match=r"more than the 1.0 MB of this machine"):
            parse([])
    monkeypatch.undo()
    assert memory_check.memory_budget() > 100_000_000  # the real machine's physical memory
    assert memory_check.check_memory("x", 10, "", budget=10) == 10
    with pytest.raises(ValueError, match=r"^x needs at least 1.5 KB of memory, more than "
                                         r"the 1.0 KB of this machine; advice$"):
        memory_check.check_memory("x", 1500, "advice", budget=1000)


def test_max_detections_limit_is_the_anchor_count():
    from kerasnotes.models.tiny_ssd import tiny_ssd_anchors

    for size in (64, 100, 128, 200, 256, 300):
        assert ssd.num_anchors(size) == tiny_ssd_anchors(size).shape[0]


def test_objects_beyond_max_objects_are_cut_with_one_notice(capsys):
    import numpy as np

    from kerasnotes.data.detection.detection_records import DetectionRecord
    from kerasnotes.data.detection.detection_sources import DetectionSource

    def record(name, count):
        labels = np.tile(np.array([[0, 0.1, 0.1, 0.5, 0.5]], "float32"), (count, 1))
        labels[:, 1] = np.arange(count) / 1000
        return DetectionRecord(name, 10, 10, labels, annotation=f"label.csv:{name}")

    source = DetectionSource("x", ("a",), [record("a", 3), record("b", 250), record("c", 120)],
                             [record("d", 100)], "root")
    source = ssd.limit_objects(source, 100)
    assert [r.num_objects for r in source.train + source.val] == [3, 100, 100, 100]
    np.testing.assert_array_equal(source.train[1].labels[:, 1],
                                  (np.arange(100) / 1000).astype("float32"))
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["notice: 2 images have more than --max-objects 100 objects (up to 250; "
                     "the first: label.csv:b, 250); only the first 100 of each are used"]
    assert ssd.limit_objects(source, 100) == source
    assert capsys.readouterr().out == ""


def test_each_case_is_one_error_line_and_exit_code_2(tmp_path):
    # Through each app's command line (`cli`) in this process; the TF_CONFIG case also as a
    # user runs it, in a subprocess (the exit code the shell sees, no traceback).
    banana = tmp_path / "bananas" / "bananas_train"
    (banana / "images").mkdir(parents=True)
    (banana / "label.csv").write_bytes(b"PK\x03\x04\x84\x00" * 20)
    string_address = json.dumps({"cluster": {"worker": "127.0.0.1:23456"},
                                 "task": {"type": "worker", "index": 0}})
    cases = [  # (task, args, env, the error line's text after "error: ", run)
        ("classify", ["--resize", "100000", "--num-train", "64", "--num-test", "64"], None,
         "--model lenet --resize 100000 --batch-size 256 needs at least 33.3 TB of memory",
         app_runner.run_app_in_process),
        ("ssd", ["--image-size", "100000"], None,
         "--image-size 100000 --batch-size 32 needs at least 65.3 TB of memory",
         app_runner.run_app_in_process),
        ("classify", [], {"TF_CONFIG": string_address},
         'TF_CONFIG: cluster.worker must be a list of "host:port" addresses; received the '
         'string "127.0.0.1:23456"', app_runner.run_app_in_process),
        ("classify", [], {"TF_CONFIG": string_address},
         'TF_CONFIG: cluster.worker must be a list of "host:port" addresses; received the '
         'string "127.0.0.1:23456"', app_runner.run_app),
        ("ssd", ["--data", f"banana:{tmp_path / 'bananas'}"], None,
         f"{banana / 'label.csv'}:1: not UTF-8 text (byte 0x84 at column 5)",
         app_runner.run_app_in_process),
    ]
    for index, (task, args, env, expected, run) in enumerate(cases):
        folder = tmp_path / f"{task}-{index}"
        folder.mkdir()
        result = run(task, [*args, "--logdir", "run", "--export-dir", "export"], folder,
                     env=env)
        assert result.returncode == 2, (task, args, result.stderr[-3000:])
        assert "Traceback" not in result.stderr, result.stderr[-3000:]
        (line,) = app_runner.error_lines(result, task)
        assert expected in line, line
        assert not os.path.exists(folder / "run")  # checked before the run folder is made
    assert not os.path.exists(tmp_path / "ssd-1" / "data_cache")  # nothing was generated
