"""What every app shares: the common flags, the run directory, error reporting, the report.

Common flags: --epochs --batch-size --lr --seed --data --data-dir --logdir --export-dir
--strategy --resume/--no-resume (and --log-every-n-steps --checkpoint-every-n-steps
--verbose). Each app declares its defaults in a dataclass and adds its own flags.
"""

import argparse
import dataclasses
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Settings that may change when a run is resumed; any other difference is an error.
RESUMABLE_CHANGES = {"epochs", "resume", "export_dir", "verbose", "log_every_n_steps",
                     "checkpoint_every_n_steps"}


@dataclasses.dataclass
class CommonConfig:
    """Defaults of the common flags; apps subclass it with their own defaults."""

    task: str = "app"
    epochs: int = 10
    batch_size: int = 256
    lr: float = 0.1
    seed: int = 0
    data: str = "synthetic"
    data_dir: str = None
    logdir: str = None
    export_dir: str = None
    strategy: str = "auto"
    resume: bool = True
    log_every_n_steps: int = 50
    checkpoint_every_n_steps: int = None
    verbose: int = 1


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def make_parser(config, description):
    """An argparse parser with the common flags, their defaults taken from `config`."""
    parser = argparse.ArgumentParser(
        prog=f"python -m apps.{config.task}",
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    group = parser.add_argument_group("common flags")
    group.add_argument("--epochs", type=positive_int, default=config.epochs,
                       help="total epochs; a resumed run trains the ones left "
                            "(default %(default)s)")
    group.add_argument("--batch-size", type=positive_int, default=config.batch_size,
                       help="global batch size, over all replicas (default %(default)s)")
    group.add_argument("--lr", type=positive_float, default=config.lr,
                       help="learning rate (default %(default)s)")
    group.add_argument("--seed", type=int, default=config.seed,
                       help="seed of weights, data order and augmentation (default %(default)s)")
    group.add_argument("--data", default=config.data,
                       help="data source (default %(default)s; see the app's description)")
    group.add_argument("--data-dir", default=config.data_dir,
                       help="folder of prepared TFDS datasets, for tfds data sources")
    group.add_argument("--logdir", default=config.logdir,
                       help="run folder: config.json, TensorBoard events, checkpoints "
                            f"(default runs/{config.task}/<model>)")
    group.add_argument("--export-dir", default=config.export_dir,
                       help=f"export base: versions go to EXPORT_DIR/<n> "
                            f"(default saved_models/{config.task})")
    group.add_argument("--strategy", default=config.strategy,
                       choices=["auto", "default", "mirrored", "multi_worker"],
                       help="tf.distribute strategy; auto picks multi_worker when TF_CONFIG "
                            "names several workers (default %(default)s)")
    group.add_argument("--resume", action=argparse.BooleanOptionalAction, default=config.resume,
                       help="continue from the run folder's last checkpoint; --no-resume moves "
                            "an existing run folder aside and starts afresh (default: resume)")
    group.add_argument("--log-every-n-steps", type=positive_int, default=config.log_every_n_steps,
                       help="TensorBoard step scalars every N steps (default %(default)s)")
    group.add_argument("--checkpoint-every-n-steps", type=positive_int,
                       default=config.checkpoint_every_n_steps,
                       help="checkpoint inside epochs too (default: at the end of each epoch)")
    group.add_argument("--verbose", type=int, choices=[0, 1, 2], default=config.verbose,
                       help="0 silent, 1 progress bar, 2 one line per epoch (default %(default)s)")
    return parser


def to_config(config_class, args, **extra):
    """The app's config dataclass filled from parsed `args`."""
    names = {f.name for f in dataclasses.fields(config_class)}
    values = {k: v for k, v in vars(args).items() if k in names}
    values.update(extra)
    return config_class(**values)


def prepare_run_dir(config, run_name):
    """Creates (or reuses, to resume) the run folder and writes config.json into it.

    Returns the run folder. Resuming a folder that holds a run of another configuration
    is an error naming the settings that differ.
    """
    run_dir = config.logdir or os.path.join("runs", config.task, run_name)
    config.logdir = run_dir
    config_path = os.path.join(run_dir, "config.json")
    current = dataclasses.asdict(config)
    if os.path.exists(config_path):
        if not config.resume:
            aside = f"{run_dir}.old-{time.strftime('%Y%m%d-%H%M%S')}"
            os.rename(run_dir, aside)
            print(f"--no-resume: moved the previous run to {aside}")
        else:
            with open(config_path) as f:
                previous = json.load(f)
            differences = [
                f"{key}: {previous.get(key)!r} -> {value!r}"
                for key, value in current.items()
                if key not in RESUMABLE_CHANGES and previous.get(key) != value
            ]
            if differences:
                raise ValueError(
                    f"run folder {run_dir} holds a run with other settings "
                    f"({'; '.join(differences)}). Resume it with the same flags, pass "
                    "--no-resume to start afresh (the old run is moved aside), or choose "
                    "another --logdir."
                )
    os.makedirs(run_dir, exist_ok=True)
    with open(config_path, "w") as f:
        json.dump(current, f, indent=2, sort_keys=True)
    return run_dir


def print_report(config, metrics, export_path, data_name):
    """The closing lines of every app: data, metrics, export, TensorBoard command."""
    print()
    print(f"Data: {data_name}")
    for name, value in metrics.items():
        print(f"  {name}: {value:.4f}")
    if export_path:
        print(f"Exported SavedModel: {export_path}")
    print(f"Run folder (config, checkpoints, events): {config.logdir}")
    default_parent = os.path.join("runs", config.task)
    parent = os.path.dirname(os.path.normpath(config.logdir))
    # Default runs sit side by side under runs/<task>, so TensorBoard can overlay them.
    shown = parent if os.path.normpath(parent) == default_parent else config.logdir
    print(f"TensorBoard: tensorboard --logdir {shown}")


def run(main, task):
    """Runs `main()` of `python -m apps.<task>`; expected failures print one line, exit 2.

    Set KERASNOTES_DEBUG=1 to see the full traceback instead.
    """
    try:
        main()
    except Exception as error:  # noqa: BLE001 - only the expected kinds are reported briefly
        # Imported here so that a bad flag fails fast, before TensorFlow is imported.
        from kerasnotes.training.trainer import NonFiniteLossError

        if not isinstance(error, (ValueError, OSError, NonFiniteLossError)):
            raise
        if os.environ.get("KERASNOTES_DEBUG"):
            raise
        print(f"python -m apps.{task}: error: {error}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("\nInterrupted: rerun the same command to resume from the last checkpoint.",
              file=sys.stderr)
        sys.exit(130)
