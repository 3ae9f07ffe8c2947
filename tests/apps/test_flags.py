"""apps/flags.py: a config dataclass's fields are its app's flags (issue 24), and run_cli's
one error line for a bad combination of flags, before TensorFlow is imported."""

import dataclasses
import subprocess
import sys

import pytest

from apps import flags
from apps.flags import flag
from apps.runner import _one_line


@dataclasses.dataclass
class DemoConfig(flags.RunConfig):
    task: str = "demo"
    size: int = flag(8, "side of the images", type=flags.int_at_least(4), aliases=("--side",))
    name: str = flag(None, "a name")
    fast: bool = flag(False, "a switch")
    tags: list = flag([], "repeatable", action="append")
    epochs: int = 3
    hidden: str = "not a flag"  # no help, not a common flag


def test_every_field_with_a_help_or_a_common_name_is_a_flag_with_its_default():
    config = flags.parse(DemoConfig, "A demo.", [])
    assert config == DemoConfig()
    config = flags.parse(DemoConfig, "A demo.", ["--side", "5", "--name", "x", "--fast",
                                                 "--tags", "a", "--tags", "b", "--epochs", "7"])
    assert (config.size, config.name, config.fast, config.tags, config.epochs) == (
        5, "x", True, ["a", "b"], 7)
    assert DemoConfig().tags == [] and DemoConfig().tags is not DemoConfig().tags
    assert flags.parse(DemoConfig, "A demo.", ["--no-fast"]).fast is False


def test_help_groups_the_flags_and_shows_each_default_once(capsys):
    with pytest.raises(SystemExit) as raised:
        flags.parse(DemoConfig, "A demo.", ["--help"], run_name=lambda config: "run")
    assert raised.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "demo flags: --size SIZE, --side SIZE side of the images (default 8)" in text
    assert "common flags:" in text and "(default runs/demo/run)" in text
    assert "--hidden" not in text and "--batch-size" not in text and "--lr " not in text
    assert text.count("(default 3)") == 1  # --epochs: the common help, the app's default


@pytest.mark.parametrize("argv, message", [
    (["--size", "3"], "argument --size/--side: must be an integer >= 4, got 3"),
    (["--size", "x"], "argument --size/--side: must be an integer >= 4, got 'x'"),
    (["--epochs", "0"], "argument --epochs: must be a positive integer, got 0"),
    (["--epoch", "2"], "unrecognized arguments: --epoch 2 (--epoch: did you mean --epochs?)"),
])
def test_a_bad_flag_is_argparses_one_line_and_exit_2(capsys, argv, message):
    with pytest.raises(SystemExit) as raised:
        flags.parse(DemoConfig, "A demo.", argv)
    assert raised.value.code == 2
    assert f"python -m apps.demo: error: {message}\n" in capsys.readouterr().err


@pytest.mark.parametrize("check, good, bad, message", [
    (flags.positive_float, "0.5", "0", "must be a positive number, got 0"),
    (flags.unit_float, "1", "1.5", "must be in [0, 1], got 1.5"),
    (flags.open_unit_float, "0", "1", "must be in [0, 1), got 1"),
    (flags.fraction, "0.5", "0", "must be in (0, 1), got 0"),
    (flags.learning_rate, "10", "1e9", "must be a positive number at most 1000"),
    (flags.int_at_least(0, 10), "0", "11", "must be at most 10, got 11"),
    (flags.non_negative_float, "0", "nan", "must be a (finite) number, got 'nan'"),
])
def test_value_checks(check, good, bad, message):
    assert check(good) == float(good)
    with pytest.raises(Exception, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[")):
        check(bad)


def test_library_messages_name_the_apps_settings_as_flags():
    error = ValueError("use a smaller `num_steps` or `batch_size`; `other` is no setting")
    assert _one_line(error, {"num_steps", "batch_size"}) == (
        "use a smaller --num-steps or --batch-size; `other` is no setting")


def test_a_bad_combination_of_flags_is_one_line_before_tensorflow_loads(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from apps import language_model as app; from "
         "apps.runner import run_cli; run_cli('language_model', app.main, app.parse_args, "
         "['--bidirectional'])"],
        capture_output=True, text=True, timeout=120, cwd=str(tmp_path),
        env={"PYTHONPATH": str(__import__("pathlib").Path(__file__).parents[2]),
             "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2
    assert result.stderr == ("python -m apps.language_model: error: --bidirectional needs "
                             "--sampling random: sequential sampling carries the hidden state "
                             "left to right, which a backward layer cannot use\n")
