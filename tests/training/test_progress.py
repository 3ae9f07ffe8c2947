"""The progress display: a live bar on a terminal, one plain line per epoch in a log."""

import io

import keras
import pytest
import tensorflow as tf

from kerasnotes.training.trainer import Trainer
from tests.training.test_trainer import make_dataset, regression_data


class Terminal(io.StringIO):
    def isatty(self):
        return True


def fit(monkeypatch, stream, verbose=1, epochs=2):
    monkeypatch.setattr("sys.stdout", stream)
    x, y = regression_data()
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    trainer = Trainer(model, keras.losses.MeanSquaredError(), keras.optimizers.SGD(0.05),
                      [keras.metrics.MeanAbsoluteError()], verbose=verbose)
    trainer.fit(make_dataset(x, y), epochs=epochs,
                validation_data=tf.data.Dataset.from_tensor_slices((x, y)).batch(16))
    return stream.getvalue()


@pytest.mark.parametrize("verbose", [1, 2])
def test_a_log_gets_one_plain_line_per_epoch_with_val_metrics_once(monkeypatch, verbose):
    out = fit(monkeypatch, io.StringIO(), verbose=verbose)
    assert "\r" not in out and "\x1b" not in out and "\b" not in out
    lines = out.splitlines()
    assert [line.split(" - ")[0] for line in lines] == ["Epoch 1/2", "Epoch 2/2"]
    for line in lines:
        names = [part.split(":")[0] for part in line.split(" - ")[1:]]
        assert names == ["loss", "mean_absolute_error", "val_loss", "val_mean_absolute_error"]


def test_a_terminal_gets_a_live_bar_with_val_metrics_once_per_epoch(monkeypatch):
    out = fit(monkeypatch, Terminal())
    assert out.count("Epoch 1/2\n") == 1 and out.count("Epoch 2/2\n") == 1
    assert "\r" in out  # the bar is redrawn in place
    assert "8/8" in out and "━" in out
    assert out.count("val_loss") == 2  # once per epoch, on the bar's final line


def test_verbose_0_prints_nothing(monkeypatch):
    assert fit(monkeypatch, Terminal(), verbose=0) == ""
