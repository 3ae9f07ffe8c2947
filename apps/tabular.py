"""House-price regression on a table: K-fold cross-validation, predictions, SavedModel.

    python -m apps.tabular                       # the embedded synthetic house-price table
    python -m apps.tabular --k-folds 5 --epochs 60 --weight-decay 1e-3 --dropout 0.1
    python -m apps.tabular --data csv:train.csv --test-csv test.csv    # Kaggle's files
    python -m apps.tabular --data csv:prices.csv --target Price --id-column HouseId

Data sources (--data):
  synthetic   1000 training and 400 test rows (no prices) in Kaggle's "House Prices" format,
              11 numeric and categorical features (generated; not real data)
  csv:PATH    a Kaggle-format CSV: header, id column, target, numeric and categorical columns
              (inferred; NA or empty = missing); predicts --test-csv, else the training rows

The model (kerasnotes.models.tabular_mlp: z-scored and one-hot columns, an MLP) is trained on
log(target); each fold prints its log-RMSE. Outputs: runs/tabular/<data>/{fold<k>,final}/; the
final model (all rows) writes the predictions CSV (Id,<target>) and an export (serving_default:
a 1-D tensor per raw column, float32 with NaN = missing, or string -> predictions).
"""

import dataclasses
import os

from apps import flags
from apps.flags import flag
from apps.runner import Run, run_cli

OPTIMIZERS = {"sgd": {}, "momentum": {"gamma": 0.9}, "adam": {}}  # hyperparameters besides --lr


@dataclasses.dataclass
class TabularConfig(flags.RunConfig):
    task: str = "tabular"
    data: str = "synthetic"
    target: str = flag("SalePrice", "target column of the CSV")
    id_column: str = flag("Id", "id column, copied to the predictions")
    test_csv: str = flag(None, "CSV of the rows to predict, without the target (see above)")
    categorical: str = flag("", "number columns that are categories, e.g. MSSubClass,MoSold")
    num_train: int = flag(None, "use only the first N training rows", type=flags.positive_int)
    num_test: int = flag(None, "use only the first N rows to predict", type=flags.positive_int)
    k_folds: int = flag(5, "K of the K-fold cross-validation", type=flags.int_at_least(2))
    hidden_units: str = flag("64", "hidden layer sizes", type=flags.layer_sizes)
    weight_decay: float = flag(1e-3, "lambda of the L2 penalty lambda/2 * sum(w^2) on the weights",
                               type=flags.non_negative_float)
    dropout: float = flag(0.1, "dropout after each hidden layer", type=flags.open_unit_float)
    optimizer: str = flag("adam", "kerasnotes optimizer: minibatch SGD, Momentum (gamma 0.9) or "
                          "Adam", choices=tuple(OPTIMIZERS))
    sampling: str = flag("without_replacement", "minibatches drawn without or with replacement",
                         choices=flags.SAMPLING_MODES)
    predictions: str = flag(None, "predictions CSV (default <run folder>/predictions.csv)")
    epochs: int = 40
    batch_size: int = 64
    lr: float = 0.01
    precision: str = "float32"
    export_dir: str = None
    log_every_n_steps: int = 10


def run_name(config):
    return os.path.splitext(os.path.basename(config.data.removeprefix("csv:")))[0]


def parse_args(argv=None):
    return flags.parse(TabularConfig, __doc__, argv, run_name)


def load_data(config):
    """`(train_table, predict_table, what_predict_table_is)`; 2 training rows per fold."""
    from kerasnotes.data.tabular.house_prices import load_house_prices

    categorical = tuple(c.strip() for c in config.categorical.split(",") if c.strip())
    train, test, test_name = load_house_prices(
        config.data, config.target, config.id_column, config.test_csv, categorical,
        config.num_train, config.num_test, config.seed)
    if train.num_rows < 2 * config.k_folds:
        raise ValueError(f"--k-folds {config.k_folds} needs at least {2 * config.k_folds} "
                         f"training rows; {train.name} has {train.num_rows}")
    return train, test, test_name


def train_one(run, table, folder, valid=None, fold=0):
    """Fits preprocessing and MLP on `table` in `run_dir/folder`; returns a float32 model."""
    import keras

    from apps.optimizer_registry import make_optimizer
    from kerasnotes.data.tabular.minibatch_sampling import make_minibatch_dataset
    from kerasnotes.losses.squared_loss import SquaredLoss
    from kerasnotes.models.tabular_mlp import log_targets, tabular_mlp
    from kerasnotes.training.precision import float32_copy

    config = run.config
    keras.utils.set_random_seed(config.seed + fold)
    with run.strategy.scope():
        model = tabular_mlp(table.features, table.numeric_columns, table.categorical_columns,
                            table.targets, flags.hidden_layers(config.hidden_units),
                            config.weight_decay, config.dropout, config.seed)
        optimizer = make_optimizer(config.optimizer, dict(OPTIMIZERS[config.optimizer],
                                                          learning_rate=config.lr), 1)

    def train_data(epoch):
        return make_minibatch_dataset(
            (table.features, log_targets(table.targets)), config.batch_size,
            replacement=config.sampling == "with_replacement", seed=config.seed + 1000 * fold,
            epoch=epoch)

    validation = None if valid is None else make_minibatch_dataset(
        (valid.features, log_targets(valid.targets)), config.batch_size, seed=None)
    # RMSE of log predictions: the log-RMSE (predictions below 1 are not clipped here).
    trainer = run.trainer(model, SquaredLoss(), optimizer,
                          [keras.metrics.RootMeanSquaredError(name="log_rmse")],
                          run_dir=os.path.join(run.run_dir, folder))
    trainer.fit(train_data, epochs=config.epochs, validation_data=validation)
    return float32_copy(model)  # under a mixed policy too: scores, predictions, export agree


def main(config):
    """K-fold cross-validation, then the final model on all rows; returns `(metrics, export)`."""
    import logging

    import numpy as np

    from kerasnotes.data.tabular.house_prices import write_predictions_csv
    from kerasnotes.data.tabular.k_fold import k_fold_splits
    from kerasnotes.models.tabular_mlp import evaluate_log_rmse, predict_targets
    from kerasnotes.serving.tabular import TabularRegressorServer

    with Run(config, run_name(config)) as run:
        # Expected: TF's retracing warnings (a Trainer per fold), absl's on renamed "1stFlrSF".
        for logger in ("tensorflow", "absl"):
            logging.getLogger(logger).setLevel("ERROR")
        table, test, test_name = load_data(config)
        print(f"Data: {table.name}: {table.num_rows} training rows, {len(table.numeric_columns)} "
              f"numeric and {len(table.categorical_columns)} categorical columns, target "
              f"{table.target_column!r}; {test.num_rows} rows to predict")
        scores = []  # (train, validation) log-RMSE per fold
        folds = k_fold_splits(table.num_rows, config.k_folds, config.seed)
        for k, (train_rows, valid_rows) in enumerate(folds, start=1):
            fold_train, fold_valid = table.take(train_rows), table.take(valid_rows)
            if config.verbose:
                print(f"Fold {k}/{config.k_folds}: {len(train_rows)} training and "
                      f"{len(valid_rows)} validation rows")
            model = train_one(run, fold_train, f"fold{k}", fold_valid, fold=k)
            scores.append([evaluate_log_rmse(model, rows.features, rows.targets, config.batch_size)
                           for rows in (fold_train, fold_valid)])
            print(f"fold {k}: train log-RMSE {scores[-1][0]:.4f}, "
                  f"valid log-RMSE {scores[-1][1]:.4f}", flush=True)
        mean_train, mean_valid = (float(m) for m in np.mean(scores, axis=0))
        print(f"{config.k_folds}-fold mean: train log-RMSE {mean_train:.4f}, "
              f"valid log-RMSE {mean_valid:.4f}")
        if config.verbose:
            print(f"Final model on all {table.num_rows} training rows")
        model = train_one(run, table, "final", fold=0)
        path = config.predictions or os.path.join(run.run_dir, "predictions.csv")
        predictions = predict_targets(model, test.features, config.batch_size)
        write_predictions_csv(path, test.ids, predictions, test.id_column, table.target_column)
        print(f"Predictions of {test.num_rows} rows ({test_name}): {path}")
        server = TabularRegressorServer(model, table.numeric_columns, table.categorical_columns)
        export_path = run.export(server, {"serving_default": server.serve})
        results = {"mean_train_log_rmse": mean_train, "mean_valid_log_rmse": mean_valid}
        run.report(results, export_path, table.name)
    return results, export_path


if __name__ == "__main__":
    run_cli("tabular", main, parse_args)
