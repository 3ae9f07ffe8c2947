"""TrainedWordsPerSecond: the Keras word2vec models' centers trained per second of fit."""

from kerasnotes.data.text.ptb_corpus import encode_corpus
from kerasnotes.data.text.word2vec_vocabulary import Word2VecVocabulary
from kerasnotes.training.callbacks import trained_words_per_second
from kerasnotes.training.callbacks.trained_words_per_second import TrainedWordsPerSecond

SENTENCES = [["a", "b", "a"], ["a", "c"], ["b"]]
CORPUS = encode_corpus(SENTENCES, Word2VecVocabulary.from_sentences(SENTENCES, min_count=1))


def test_the_centers_of_the_epochs_trained_over_the_time_of_fit(monkeypatch):
    clock = iter([3.0, 5.0])  # on_train_begin, on_train_end
    monkeypatch.setattr(trained_words_per_second.time, "perf_counter", lambda: next(clock))
    # t = 1 drops no word; the lone "b" has no context word: 5 centers per epoch.
    speed = TrainedWordsPerSecond(CORPUS, subsample_t=1.0, seed=0)
    speed.on_train_begin()
    speed.on_epoch_end(3, {"loss": 0.75})  # a resumed run: epochs 4 and 5 of 5
    speed.on_epoch_end(4, {"loss": 0.5})
    speed.on_train_end()
    assert speed.metrics == {"train_loss": 0.5, "words_per_second": 2 * 5 / 2.0}


def test_no_epoch_left_gives_no_speed():
    speed = TrainedWordsPerSecond(CORPUS, subsample_t=1.0)
    speed.on_train_begin()
    speed.on_train_end()
    assert speed.metrics == {}
