"""WordsPerSecond: the fused word2vec model's words trained per second of its steps."""

import types

from kerasnotes.training.callbacks import words_per_second
from kerasnotes.training.callbacks.words_per_second import WordsPerSecond


def test_words_over_the_time_of_the_epochs_steps(monkeypatch):
    clock = iter([10.0, 12.0, 14.0, 100.0, 101.0])  # perf_counter at each step hook
    monkeypatch.setattr(words_per_second.time, "perf_counter", lambda: next(clock))
    model = types.SimpleNamespace(words_trained=0)  # FusedWord2Vec counts its words
    speed = WordsPerSecond()
    speed.set_model(model)
    speed.on_train_begin()
    logs = {"loss": 0.5}
    speed.on_epoch_begin(0)
    speed.on_train_batch_begin(0)  # t 10, 0 words
    model.words_trained = 300
    speed.on_train_batch_end(0)  # t 12
    speed.on_train_batch_begin(1)
    model.words_trained = 800
    speed.on_train_batch_end(1)  # t 14: 800 words in 4 s
    speed.on_epoch_end(0, logs)
    assert logs == {"loss": 0.5, "words_per_second": 200.0}
    empty = {"loss": 0.25}  # an epoch without steps (resumed at its end) measures nothing
    speed.on_epoch_begin(1)
    speed.on_epoch_end(1, empty)
    assert empty == {"loss": 0.25}
    speed.on_epoch_begin(2)
    speed.on_train_batch_begin(0)  # t 100, 800 words
    model.words_trained = 1000
    speed.on_train_batch_end(0)  # t 101: 200 words in 1 s
    speed.on_epoch_end(2, {"loss": 0.125})
    speed.on_train_end()
    assert speed.metrics == {"train_loss": 0.125, "words_per_second": 1000 / 5}


def test_nothing_trained_gives_no_speed():
    speed = WordsPerSecond()
    speed.on_train_begin()
    speed.on_train_end()
    assert speed.metrics == {}
