"""The steps every app's `main(config)` takes, in order: `Run` (strategy, seed, precision,
run folder), `run.trainer`, `run.export`, `run.report`; and `run_cli`, the entry point of
`python -m apps.<task>` (`predict_cli` for an app's `predict` subcommand).

Exit codes: 0 done; 2 bad input (one `error:` line naming the flag, file or shape);
3 training diverged (NaN/Inf; nothing non-finite was saved, rerun with a lower --lr to
resume from the last good checkpoint); 4 lost a worker (multi-worker: one `error:` line
naming it; restart every worker to resume); 75 preempted (SIGTERM: a checkpoint of the
current step was saved, by every worker; rerun the same command to resume); 130 interrupted
(Ctrl-C; rerun to resume); `FAULT_EXIT_CODE` (97) only under test fault injection.

An app (apps/classify.py is the shortest full example):

    def main(config):
        with Run(config, run_name(config)) as run:
            ...                                   # data, model, run.trainer(...).fit(...)
        return results, export_path

    def cli(argv=None):
        run_cli("classify", main, parse_args, argv)
"""

import os
import sys

from apps import flags
from apps.run_folder import RunFolder
from apps.tensorflow_startup import import_tensorflow

EXIT_BAD_INPUT = 2
EXIT_DIVERGED = 3
EXIT_INTERRUPTED = 130


class Run:
    """One run of an app: strategy, seed, precision policy and run folder, in this order.

    The steps an app's `main(config)` takes with it:

        with Run(config, run_name(config)) as run:   # flags checked; folder checked (reads)
            data = load_data(config)                 # every input read and checked
            with run.strategy.scope():
                model, optimizer = ...
            trainer = run.trainer(model, loss, optimizer, metrics, callbacks=[...])
            trainer.fit(data.train, epochs=config.epochs, validation_data=data.validation)
            export_path = run.export(Server(float32_copy(model), ...))
            run.report(results, export_path, data.name)

    The run folder is opened (locked, moved aside for --no-resume, its saved settings
    compared, config.json written) only by `run.trainer` or `run.start`, once every input
    has been read: a bad input never touches it. Leaving the `with` block restores the
    Keras dtype policy (apps run in-process by tests and notebooks).
    """

    def __init__(self, config, run_name):
        import_tensorflow()
        import keras

        from kerasnotes.training.precision import resolve_precision, set_precision
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
        self.folder = RunFolder(config, run_name, chief=is_chief(self.strategy))
        self.run_dir = self.folder.path
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
        from kerasnotes.training.trainer import Trainer

        self.start()
        config = self.config
        profile = (tuple(int(s) for s in config.profile_steps.split(","))
                   if config.profile_steps else None)
        run_dir = run_dir or self.run_dir
        settings = dict(strategy=self.strategy, run_dir=run_dir,
                        callbacks=[*callbacks, *self.test_faults(run_dir)],
                        log_every_n_steps=config.log_every_n_steps,
                        checkpoint_every_n_steps=config.checkpoint_every_n_steps,
                        steps_per_execution=config.steps_per_execution,
                        profile_steps=profile, verbose=config.verbose)
        return Trainer(model, loss, optimizer, metrics, **settings | options)

    def test_faults(self, run_dir=None):
        """The test-only callbacks `KERASNOTES_FAIL_AT` and `KERASNOTES_POISON_AT` ask for
        (kerasnotes/training/callbacks/fault_injection.py); none when they are not set."""
        from kerasnotes.training.callbacks.fault_injection import FaultInjection, PoisonWeights

        run_dir = run_dir or self.run_dir
        checkpoints = os.path.join(run_dir, "checkpoints") if run_dir else None
        faults = [PoisonWeights.from_environment(),
                  FaultInjection.from_environment(checkpoints)]
        return [callback for callback in faults if callback is not None]

    def export(self, server, signatures=None):
        """Writes `server` (a `tf.Module`; its `signatures()` unless given) as
        `saved_models/<task>/<next version>/` (or --export-dir); returns the path."""
        from kerasnotes.serving.export import export_saved_model

        base = self.config.export_dir or os.path.join("saved_models", self.config.task)
        faults = [c for c in self.test_faults() if hasattr(c, "on_export")]
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
    """Entry point of `python -m apps.<task>`: `main(parse_args(argv))`, or
    `predict(argv[1:])` for the `predict` subcommand. Expected failures print one line and
    exit with the codes of the module docstring (KERASNOTES_DEBUG=1 shows the traceback)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["predict"] and predict is not None:
            predict(argv[1:])
        else:
            config = parse_args(argv)
            import_tensorflow()  # after the flags (--help stays fast), without its noise
            main(config)
    except KeyboardInterrupt:
        print("\nInterrupted: rerun the same command to resume from the last checkpoint.",
              file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as error:  # noqa: BLE001 - only the expected kinds are reported briefly
        # Imported here so that a bad flag fails fast, before TensorFlow is imported.
        from kerasnotes.training.checkpoints import NonFiniteLossError
        from kerasnotes.training.preemption import (
            EXIT_PREEMPTED,
            EXIT_WORKER_LOST,
            Preempted,
            lost_worker_error,
        )

        if os.environ.get("KERASNOTES_DEBUG"):
            raise
        if isinstance(error, Preempted):
            print(f"python -m apps.{task}: preempted: {error}", file=sys.stderr)
            sys.exit(EXIT_PREEMPTED)
        lost = lost_worker_error(error)
        if lost is not None:
            print(f"python -m apps.{task}: error: {lost}", file=sys.stderr)
            sys.exit(EXIT_WORKER_LOST)
        if isinstance(error, NonFiniteLossError):
            print(f"python -m apps.{task}: error: {error}", file=sys.stderr)
            sys.exit(EXIT_DIVERGED)
        if isinstance(error, (ValueError, OSError)):
            print(f"python -m apps.{task}: error: {_one_line(error)}", file=sys.stderr)
            sys.exit(EXIT_BAD_INPUT)
        if _out_of_memory(error):
            print(f"python -m apps.{task}: error: out of memory ({_one_line(error)[:300]}); "
                  "lower --batch-size or the size flags (--resize, --image-size, ...)",
                  file=sys.stderr)
            sys.exit(EXIT_BAD_INPUT)
        raise


def predict_cli(task, add_flags, predict, argv):
    """`python -m apps.<task> predict --model-dir DIR ...`: `predict(args, export_path)` on
    the newest export in DIR, with the flags `add_flags(parser)` adds."""
    parser = flags.AppArgumentParser(prog=f"python -m apps.{task} predict",
                                     description=f"Run a {task} export on new input.")
    parser.add_argument("--model-dir", "--model", dest="model_dir",
                        default=os.path.join("saved_models", task),
                        help="an export version folder, or an export base whose highest "
                             "version is used (default %(default)s)")
    add_flags(parser)
    args = parser.parse_args(argv)
    import_tensorflow()
    from kerasnotes.serving.export import resolve_export

    export_path = resolve_export(args.model_dir, hint=f"train first with python -m apps.{task}")
    return predict(args, export_path)


def _out_of_memory(error):
    """A `MemoryError`, or TensorFlow's out-of-memory `ResourceExhaustedError` (not a full
    disk, which the checkpoint and export code report themselves)."""
    if isinstance(error, MemoryError):
        return True
    import tensorflow as tf

    from kerasnotes.training.disk_space import is_disk_full

    return isinstance(error, tf.errors.ResourceExhaustedError) and not is_disk_full(error)


def _one_line(error):
    if isinstance(error, OSError) and error.filename and error.strerror:
        return f"{error.filename}: {error.strerror}"
    return " ".join(str(error).split())
