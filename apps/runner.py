"""The steps every app's `main(config)` takes, in order (apps/classify.py shows them all):
`Run` (strategy, seed, precision, run folder checked), every input read and checked, the
model under `run.strategy.scope()`, `run.trainer(...).fit(...)`, `run.export(server)`,
`run.report(...)`; then `if __name__ == "__main__": run_cli(task, main, parse_args)`.

Expected failures end with one line and the exit codes of kerasnotes.training.exit_codes
(2 bad input, 3 diverged, 4 lost a worker, 75 preempted, 130 interrupted).
"""

import dataclasses
import os
import re
import sys

from apps import flags
from kerasnotes.utils.tensorflow_startup import import_tensorflow

EXIT_BAD_INPUT = 2  # kerasnotes.training.exit_codes' (and argparse's), without TensorFlow
EXIT_INTERRUPTED = 130
MEMORY_ADVICE = "lower --batch-size or the size flags (--resize, --image-size, ...)"
# How the run folder's messages (kerasnotes.training.run_folder) name the flags.
RUN_FOLDER_WORDS = {"choose_folder": "choose an empty or new folder with --logdir",
                    "choose_another": "choose another --logdir", "start_afresh": "--no-resume"}


class Run:
    """One run of an app (see the module docstring): strategy, seed, precision policy and
    run folder, in this order. The run folder is opened (locked, moved aside for
    --no-resume, its saved settings compared, config.json written) only by `run.trainer` or
    `run.start`, once every input has been read: a bad input never touches it. Leaving the
    `with` block restores the Keras dtype policy (tests and notebooks run apps in-process).
    """

    def __init__(self, config, run_name):
        import_tensorflow()
        import keras

        from kerasnotes.training.precision import resolve_precision, set_precision
        from kerasnotes.training.run_folder import RunFolder
        from kerasnotes.training.strategy import choose_strategy, is_chief

        self.config = config
        # First: a multi-worker setup must precede every other TensorFlow op.
        self.strategy = choose_strategy(config.strategy)
        keras.utils.set_random_seed(config.seed)
        self.policy, reason = resolve_precision(getattr(config, "precision", "float32"))
        if config.verbose and hasattr(config, "precision"):
            print(f"Precision: {self.policy} ({reason})")
        self._previous_policy = keras.mixed_precision.dtype_policy()
        set_precision(self.policy)
        config.logdir = config.logdir or os.path.join("runs", config.task,
                                                      flags.safe_name(run_name))
        self.folder = RunFolder(config.logdir, config, chief=is_chief(self.strategy),
                                **RUN_FOLDER_WORDS)
        self.run_dir = config.logdir
        self._started = False
        try:
            self.folder.check()  # read-only: a --logdir that may not be used fails first
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        """Restores the Keras dtype policy of before the run."""
        import keras

        keras.mixed_precision.set_dtype_policy(self._previous_policy)

    def start(self):
        """Opens the run folder (lock, --no-resume's move aside, settings check) and writes
        config.json: call it once every input is valid, before anything writes into the
        folder (`trainer` calls it; once per run)."""
        if not self._started:
            self.folder.open()
            self.folder.write_config()
            self._started = True

    def trainer(self, model, loss, optimizer, metrics=(), callbacks=(), run_dir=None,
                **options):
        """A `Trainer` with the run's settings (strategy, logging, checkpoints, profile,
        verbosity) writing into `run_dir` (default the run folder); starts the run first."""
        from kerasnotes.training.callbacks.fault_injection import faults_from_environment
        from kerasnotes.training.trainer import Trainer

        self.start()
        config, run_dir = self.config, run_dir or self.run_dir
        profile = config.profile_steps and tuple(map(int, config.profile_steps.split(",")))
        faults = faults_from_environment(os.path.join(run_dir, "checkpoints"))
        settings = dict(strategy=self.strategy, run_dir=run_dir, callbacks=[*callbacks, *faults],
                        log_every_n_steps=config.log_every_n_steps,
                        checkpoint_every_n_steps=config.checkpoint_every_n_steps,
                        steps_per_execution=config.steps_per_execution,
                        profile_steps=profile or None, verbose=config.verbose)
        return Trainer(model, loss, optimizer, metrics, **settings | options)

    def export(self, server, signatures=None):
        """Writes `server` (a `tf.Module`; its `signatures()` unless given) as
        `saved_models/<task>/<next version>/` (or --export-dir); returns the path."""
        from kerasnotes.serving.export import export_saved_model
        from kerasnotes.training.callbacks.fault_injection import faults_from_environment

        base = self.config.export_dir or os.path.join("saved_models", self.config.task)
        faults = [c for c in faults_from_environment() if hasattr(c, "on_export")]
        signatures = server.signatures() if signatures is None else signatures
        return export_saved_model(server, base, signatures, strategy=self.strategy,
                                  on_written=faults[0].on_export if faults else None)

    def report(self, metrics, export_path, data_name):
        """The closing lines of every app: data, metrics, export, TensorBoard command."""
        config = self.config
        print()
        print(f"Data: {data_name}")
        for name, value in metrics.items():
            print(f"  {name}: {value:.4f}" if isinstance(value, float) else f"  {name}: {value}")
        if export_path:
            print(f"Exported SavedModel: {export_path}")
        print(f"Run folder (config, checkpoints, events): {config.logdir}")
        default_parent = os.path.join("runs", config.task)
        parent = os.path.dirname(os.path.normpath(config.logdir))
        # Default runs sit side by side under runs/<task>, so TensorBoard can overlay them.
        shown = parent if os.path.normpath(parent) == default_parent else config.logdir
        print(f"TensorBoard: tensorboard --logdir {shown}")


def run_cli(task, main, parse_args, argv=None, predict=None):
    """`python -m apps.<task> [flags]`: `main(parse_args(argv))` (argv: sys.argv's); with
    `predict=(add_flags, predict)`, `python -m apps.<task> predict [flags]` runs `predict_cli`.
    Expected failures print one line and exit with the codes of the module docstring
    (KERASNOTES_DEBUG=1 shows the traceback)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    settings = {"model_dir"}  # the names of settings that library messages name as flags
    try:
        if argv[:1] == ["predict"] and predict is not None:
            predict_cli(task, *predict, argv[1:])
        else:
            config = parse_args(argv)
            settings = {field.name for field in dataclasses.fields(config)}
            import_tensorflow()  # after the flags (--help stays fast), without its noise
            main(config)
    except KeyboardInterrupt:
        print("\nInterrupted: rerun the same command to resume from the last checkpoint.",
              file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as error:  # noqa: BLE001 - only the expected kinds are reported briefly
        if isinstance(error, (ValueError, OSError)) and "tensorflow" not in sys.modules:
            code, line = EXIT_BAD_INPUT, f"error: {_one_line(error, settings)}"  # flags only
        else:
            from kerasnotes.training.exit_codes import failure_exit

            code, line = failure_exit(error, lambda e: _one_line(e, settings), MEMORY_ADVICE)
        if code is None or os.environ.get("KERASNOTES_DEBUG"):
            raise
        print(f"python -m apps.{task}: {line}", file=sys.stderr)
        sys.exit(code)


def predict_cli(task, add_flags, predict, argv):
    """`python -m apps.<task> predict --image IMAGE --out OUT [--model-dir DIR] ...`:
    `predict(args, export_path)` with the newest export in DIR; `add_flags(parser)` gives the
    description and the app's other flags."""
    parser = flags.AppArgumentParser(prog=f"python -m apps.{task} predict")
    parser.add_argument("--model-dir", "--model", dest="model_dir",
                        default=os.path.join("saved_models", task),
                        help="an export version folder, or an export base whose highest "
                             "version is used (default %(default)s)")
    parser.add_argument("--image", required=True, help="input image (JPEG, PNG, GIF or BMP)")
    parser.add_argument("--out", required=True, help="output picture (PNG)")
    add_flags(parser)
    args = parser.parse_args(argv)
    import_tensorflow()
    from kerasnotes.serving.export import resolve_export

    export_path = resolve_export(args.model_dir, hint=f"train first with python -m apps.{task}")
    return predict(args, export_path)


def _one_line(error, settings=()):
    """The error's message on one line; a setting the library names by its argument name in
    backquotes (`` `num_steps` ``), when it is one of the app's `settings`, as its flag
    (`--num-steps`)."""
    if isinstance(error, OSError) and error.filename and error.strerror:
        return f"{error.filename}: {error.strerror}"
    return re.sub(r"`(\w+)`", lambda m: "--" + m[1].replace("_", "-") if m[1] in settings
                  else m[0], " ".join(str(error).split()))
