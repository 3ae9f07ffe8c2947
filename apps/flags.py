"""Command-line flags: an app's config dataclass declares them (a field is a flag, see
apps/classify.py), and the argparse types that check their values (a bad value: one line
`python -m apps.<task>: error: argument --lr: must be ...`, exit code 2)."""

import argparse
import dataclasses
import difflib
import math
import os
import re

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16", "auto")
STRATEGIES = ("auto", "default", "mirrored", "multi_worker")
# Larger learning rates only diverge (the largest the notes use is d2l's word2vec SGD, ~10).
MAX_LEARNING_RATE = 1000.0
# kerasnotes.data.tabular.minibatch_sampling.SAMPLING_MODES (not imported: --help stays fast).
SAMPLING_MODES = ("without_replacement", "with_replacement")


def flag(default, help, **options):  # noqa: A002 - argparse's name
    """A config field that is a flag of its app: `--<name-with-dashes>`, default `default`,
    `help` (argparse's `%(default)s` works) and other `add_argument` options (`type`,
    `choices`, ...; `aliases=("--y",)` other names). A bool field is `--x/--no-x`; a list
    default is copied per config."""
    metadata = {"help": help, **options}
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def _number(text, kind):
    try:
        value = kind(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def int_at_least(minimum, maximum=None):
    """An argparse type: an integer >= `minimum`, and <= `maximum` (a documented limit)."""
    wanted = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"

    def check(text):
        value = _number(text, int)
        if value is None or value < minimum:
            shown = text if value is not None else repr(text)
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {shown}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum}, got {text}")
        return value

    return check


def real(accepts, wanted):
    """An argparse type: a finite number that `accepts` (`wanted` says which, in errors)."""

    def check(text):
        value = _number(text, float)
        if value is None:
            raise argparse.ArgumentTypeError(f"must be a (finite) number, got {text!r}")
        if not accepts(value):
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {text}")
        return value

    return check


positive_int = int_at_least(1)
non_negative_int = int_at_least(0)  # 0 often turns a feature off
positive_float = real(lambda v: v > 0, "a positive number")
non_negative_float = real(lambda v: v >= 0, ">= 0")
unit_float = real(lambda v: 0 <= v <= 1, "in [0, 1]")  # a score threshold, a share
open_unit_float = real(lambda v: 0 <= v < 1, "in [0, 1)")  # a dropout rate
fraction = real(lambda v: 0 < v < 1, "in (0, 1)")  # a held-out part of the data
learning_rate = real(lambda v: 0 < v <= MAX_LEARNING_RATE,
                     f"a positive number at most {MAX_LEARNING_RATE:g} (larger rates only "
                     "diverge)")


def int_list(text):
    """Comma-separated positive integers, e.g. `256,128` -> (256, 128)."""
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        values = ()
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(
            f"must be comma-separated positive integers, got {text!r}")
    return values


def layer_sizes(text):
    """Hidden layer sizes (`64,32`), checked and kept as text, as config.json records them;
    empty for no hidden layer (a linear model). `hidden_layers` reads them. Sizes whose
    weights alone cannot fit in memory (one input feature and one output: a lower bound)
    are refused."""
    from kerasnotes.utils.memory_budget import check_memory, layers_memory

    try:
        check_memory(text, layers_memory(hidden_layers(text)), "use fewer or smaller layers")
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def hidden_layers(text):
    """The sizes of a `layer_sizes` text as a tuple: `"64,32"` -> (64, 32), `""` -> ()."""
    return int_list(text) if text.strip() else ()


def step_range(text):
    """`A,B` with 1 <= A <= B: the first and last global steps of a profile."""
    values = int_list(text)
    if len(values) != 2 or values[0] > values[1]:
        raise argparse.ArgumentTypeError(f"must be A,B with 1 <= A <= B, got {text!r}")
    return text


@dataclasses.dataclass
class RunConfig:
    """The settings of every app's run; an app's config adds its own and those of the other
    `COMMON_FLAGS` that apply to it (`epochs`, `batch_size`, `lr`, `data`, ...)."""

    task: str = "app"
    seed: int = 0
    logdir: str = None
    resume: bool = True
    strategy: str = "auto"
    log_every_n_steps: int = 50
    checkpoint_every_n_steps: int = None
    steps_per_execution: int = 1
    profile_steps: str = None
    verbose: int = 1


COMMON_FLAGS = {  # make_parser adds " (default ...)" to a help that names no default
    "epochs": dict(type=positive_int, help="total epochs; a resumed run trains the ones left"),
    "batch_size": dict(type=positive_int, help="global batch size, over all replicas"),
    "lr": dict(type=learning_rate, help="learning rate; may change when a run is resumed"),
    "seed": dict(type=int, help="seed of weights, data order and augmentation"),
    "data": dict(help="data source (see the app's description)"),
    "logdir": dict(help="run folder: config.json, TensorBoard events, checkpoints"),
    "export_dir": dict(help="export base: versions go to EXPORT_DIR/<n> (default "
                       "saved_models/<task>)"),
    "strategy": dict(choices=STRATEGIES, help="tf.distribute strategy; auto: multi_worker "
                     "when TF_CONFIG names several workers"),
    "precision": dict(choices=PRECISIONS, help="Keras dtype policy of training: float32, "
                      "mixed_bfloat16 (fast on CPUs with AMX), mixed_float16 (GPUs), or auto "
                      "(bf16 on an AMX/AVX512_BF16 CPU, float16 on a GPU, else float32); "
                      "exports are float32"),
    "resume": dict(help="continue from the run folder's last checkpoint; --no-resume moves "
                   "the run folder aside and starts afresh (default: resume)"),
    "log_every_n_steps": dict(type=positive_int, help="TensorBoard step scalars every N steps"),
    "checkpoint_every_n_steps": dict(type=positive_int, help="checkpoint inside epochs too "
                                     "(default: at the end of each epoch)"),
    "steps_per_execution": dict(type=positive_int, help="training steps per tf.function call"),
    "profile_steps": dict(type=step_range, help="A,B: trace global steps A to B with "
                          "tf.profiler into RUN_DIR/train (TensorBoard's Profile tab)"),
    "verbose": dict(type=int, choices=[0, 1, 2], help="0 silent, 1 progress bar (a line per "
                    "epoch in a log file), 2 a line per epoch"),
}


class AppArgumentParser(argparse.ArgumentParser):
    """argparse without its surprises for a new user: no prefix matching (`--epoch 3` is
    not taken as `--epochs 3`), and a bad flag is one `error:` line first, with the closest
    flag when one is near (`did you mean --epochs?`), then where to find the flags; never the
    20-line usage block. Exit code 2, as argparse's."""

    def __init__(self, **options):
        super().__init__(allow_abbrev=False, **options)

    def error(self, message):
        unknown = re.match(r"unrecognized arguments: (.*)", message)
        if unknown:
            flags = [option for action in self._actions for option in action.option_strings]
            hints = []
            for word in unknown.group(1).split():
                close = difflib.get_close_matches(word.split("=")[0], flags, n=1, cutoff=0.75)
                if word.startswith("-") and close:
                    hints.append(f"{word}: did you mean {close[0]}?")
            if hints:
                message += " (" + "; ".join(hints) + ")"
        self.exit(2, f"{self.prog}: error: {message}\n{self.prog} --help lists the flags\n")


def make_parser(config_class, description, default_logdir=None):
    """The parser of an app: a flag for every field of `config_class` that has a help (its
    own, from `flag`, or COMMON_FLAGS'), with the field's default."""
    defaults = config_class()
    exports = any(field.name == "export_dir" for field in dataclasses.fields(config_class))
    epilog = ("Every run writes its run folder (--logdir): config.json, TensorBoard events and "
              "checkpoints;\nrerunning the same command resumes it." + (
                  " Exports are SavedModel versions EXPORT_DIR/<n>." if exports else ""))
    parser = AppArgumentParser(prog=f"python -m apps.{defaults.task}", description=description,
                               epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(**dataclasses.asdict(defaults))
    groups = {True: parser.add_argument_group("common flags"),
              False: parser.add_argument_group(f"{defaults.task} flags")}
    fields = dataclasses.fields(config_class)
    for field in fields:
        options = COMMON_FLAGS.get(field.name, {}) | dict(field.metadata)
        if "help" not in options:
            continue
        if field.name == "logdir":
            options["help"] += (f" (default {default_logdir or 'runs/<task>/<run name>'}" + (
                "; another --data gets a folder of its own)"
                if any(f.name == "data" for f in fields) else ")"))
        if isinstance(field.default, bool) and "action" not in options:
            options["action"] = argparse.BooleanOptionalAction
        elif field.default not in (None, "", []) and "default" not in options["help"]:
            options["help"] += " (default %(default)s)"
        group = groups[field.name in COMMON_FLAGS]
        aliases = options.pop("aliases", ())
        group.add_argument("--" + field.name.replace("_", "-"), *aliases, **options)
    return parser


def parse(config_class, description, argv=None, run_name=None):
    """The `config_class` of the command line `argv` (sys.argv's by default); `run_name`
    (config -> the default run folder's name) shows the default --logdir in --help."""
    defaults = config_class()
    logdir = run_name and os.path.join("runs", defaults.task, run_name(defaults))
    args = make_parser(config_class, description, logdir).parse_args(argv)
    names = {field.name for field in dataclasses.fields(config_class)}
    return config_class(**{k: v for k, v in vars(args).items() if k in names})


def safe_name(text, default="run"):
    """A folder name made from a user's path or word: the resolved path's last part, with
    characters outside `[A-Za-z0-9._-]` replaced, never `.`, `..` or empty."""
    text = str(text)
    if os.sep in text or text in (".", "..") or text.startswith("~"):
        text = os.path.basename(os.path.abspath(os.path.expanduser(text))) or default
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or default


def run_name_with_data(name, data):
    """The default run folder's name: `name` for the app's embedded data (`synthetic` or
    none), else `name-<data>`, so trying one's own data starts a run of its own:

    >>> run_name_with_data("tiny_ssd", "synthetic"), run_name_with_data("lenet", "idx:~/f")
    ('tiny_ssd', 'lenet-idx-f')
    """
    if not data or data == "synthetic":
        return name
    kind, _, path = str(data).partition(":")
    where = safe_name(path) if path else ""
    return safe_name(f"{name}-{kind}-{where}" if where else f"{name}-{safe_name(kind)}")

