"""Train the same regression model with each optimizer of the notes and compare them.

    python -m apps.optimizers                         # embedded synthetic regression data
    python -m apps.optimizers --optimizers sgd,momentum --hparam momentum.gamma=0.9 --epochs 5
    python -m apps.optimizers --csv airfoil_self_noise.dat      # tab separated, no header
    tensorboard --logdir runs/optimizers/synthetic    # one run per optimizer: curves overlay

Data: 1500 synthetic rows of 5 features and a target (generated; not real data), or --csv
PATH: numbers, comma or whitespace separated, header optional, target last (e.g. UCI's airfoil
self-noise). Columns are standardized; all optimizers start from the same weights and batches.

Outputs: runs/optimizers/<data>/<optimizer>/ and a table of the final loss ((y_hat - y)^2 / 2,
all rows) and the median seconds of an epoch (the first, which traces, left out if several).

Optimizers (kerasnotes.optimizers) and d2l's airfoil defaults of what --hparam can set (SGD's
decay_rate < 1 multiplies the rate by it every epoch; AdaGrad's epsilon is inside the sqrt):
"""

import dataclasses
import os

from apps import flags
from apps.flags import flag
from apps.optimizer_registry import NOTES_OPTIMIZERS, default_hyperparameters, make_optimizer
from apps.runner import Run, run_cli

NAMES = tuple(NOTES_OPTIMIZERS)
DEFAULTS_TABLE = "\n".join(f"  {name:9} " + "  ".join(f"{key}={value:g}" for key, value in
                                                     NOTES_OPTIMIZERS[name][2].items())
                           for name in NAMES)  # the end of --help


@dataclasses.dataclass
class OptimizersConfig(flags.RunConfig):
    task: str = "optimizers"
    csv: str = flag(None, "regression table to use instead of the synthetic data (see above)")
    num_rows: int = flag(None, "use only the first N rows (quick runs)", type=flags.positive_int)
    optimizers: str = flag(",".join(NAMES), "optimizers to compare")
    hparam: list = flag([], "e.g. adam.beta_1=0.8; repeatable", action="append",
                        metavar="NAME.KEY=VALUE")
    hidden_units: str = flag("", "hidden layer sizes, comma-separated (default: none, linear "
                             "regression as in d2l)", type=flags.layer_sizes)
    sampling: str = flag("without_replacement", "minibatches drawn without or with replacement",
                         choices=flags.SAMPLING_MODES)
    clip_global_norm: float = flag(None, "clip each gradient to this global norm",
                                   type=flags.positive_float)
    epochs: int = 4
    batch_size: int = 10
    lr: float = flag(None, "learning rate of every optimizer (default: each one's own)")
    precision: str = "float32"
    log_every_n_steps: int = 10


def run_name(config):
    return os.path.splitext(os.path.basename(config.csv))[0] if config.csv else "synthetic"


def parse_args(argv=None):
    config = flags.parse(OptimizersConfig, __doc__ + DEFAULTS_TABLE, argv, run_name)
    resolve_hyperparameters(config)  # a bad --optimizers or --hparam: a ValueError now
    return config


def resolve_hyperparameters(config):
    """`{optimizer: {key: value}}`: the defaults, then --lr, then each --hparam."""
    names = [n.strip() for n in config.optimizers.split(",") if n.strip()]
    if not names or set(names) - set(NAMES):
        raise ValueError(f"--optimizers must name some of {', '.join(NAMES)}; "
                         f"received {config.optimizers!r}")
    lr = {"learning_rate": config.lr} if config.lr else {}
    chosen = {name: default_hyperparameters(name) | lr for name in names}
    for item in config.hparam:
        key, _, text = item.partition("=")
        name, _, parameter = key.strip().partition(".")
        if not text or name not in NAMES or parameter not in default_hyperparameters(name):
            raise ValueError(f"--hparam must be NAME.KEY=VALUE with NAME one of "
                             f"{', '.join(NAMES)} and KEY one of its hyperparameters "
                             f"(e.g. momentum.gamma=0.9); received {item!r}")
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"--hparam {item!r}: {text!r} is not a number") from None
        if parameter == "decay_rate" and not 0 < value <= 1:
            raise ValueError(f"--hparam sgd.decay_rate must be in (0, 1]; received {text}")
        if name in chosen:
            chosen[name][parameter] = value
    return chosen


def train_with(run, name, optimizer, x, y):
    """Trains a fresh model with `optimizer` in `run_dir/name`; returns `(final loss,
    median seconds of an epoch or None)`."""
    import keras

    from kerasnotes.data.tabular.minibatch_sampling import make_minibatch_dataset
    from kerasnotes.losses.squared_loss import SquaredLoss
    from kerasnotes.models.regression_mlp import regression_mlp
    from kerasnotes.training.callbacks.epoch_times import EpochTimes

    config = run.config
    keras.utils.set_random_seed(config.seed)  # the same initial weights for every optimizer
    with run.strategy.scope():
        model = regression_mlp(x.shape[1], flags.hidden_layers(config.hidden_units))

    def train_data(epoch):
        return make_minibatch_dataset((x, y), config.batch_size, seed=config.seed, epoch=epoch,
                                      replacement=config.sampling == "with_replacement")

    timer = EpochTimes()
    trainer = run.trainer(model, SquaredLoss(), optimizer, callbacks=[timer],
                          run_dir=os.path.join(run.run_dir, name),
                          clip_global_norm=config.clip_global_norm)
    trainer.fit(train_data, epochs=config.epochs)
    loss = trainer.evaluate(make_minibatch_dataset((x, y), len(y), seed=None))["loss"]
    return loss, timer.median_seconds()


def format_table(rows):
    """The comparison table: optimizer, hyperparameters, final loss, seconds per epoch."""
    lines = [f"{'optimizer':<10} {'hyperparameters':<58} {'final loss':>10} {'s/epoch':>9}"]
    for name, hyperparameters, loss, seconds in rows:
        shown = " ".join(f"{k}={v:g}" for k, v in hyperparameters.items())
        timing = f"{seconds:9.3f}" if seconds is not None else f"{'(resumed)':>9}"
        lines.append(f"{name:<10} {shown:<58} {loss:10.4f} {timing}")
    return "\n".join(lines)


def main(config):
    """One model per optimizer, and the table; returns `({final_loss_<name>: loss}, None)`."""
    import tensorflow as tf

    from kerasnotes.data.tabular.regression_table import load_regression_data

    with Run(config, run_name(config)) as run:
        # One Trainer per optimizer retraces the same step functions: TF's warning is expected.
        tf.get_logger().setLevel("ERROR")
        chosen = resolve_hyperparameters(config)
        x, y, data_name = load_regression_data(config.csv, config.num_rows, config.seed)
        print(f"Data: {data_name}; batch size {config.batch_size}, {config.epochs} epochs, "
              f"optimizers {', '.join(chosen)}")
        steps_per_epoch = -(-len(y) // config.batch_size)
        with run.strategy.scope():  # every optimizer is checked before the run folder opens
            optimizers = {name: make_optimizer(name, values, steps_per_epoch)
                          for name, values in chosen.items()}
        rows = []
        for name, values in chosen.items():
            if config.verbose:
                print(f"--- {name}: " + ", ".join(f"{k}={v:g}" for k, v in values.items()))
            rows.append((name, values, *train_with(run, name, optimizers[name], x, y)))
        print("\n" + format_table(rows))
        results = {f"final_loss_{name}": loss for name, _, loss, _ in rows}
        run.report(results, None, data_name)
    return results, None


if __name__ == "__main__":
    run_cli("optimizers", main, parse_args)
