"""NearestWords: the probe words' nearest words, printed and as TensorBoard text."""

import numpy as np
import tensorflow as tf

from kerasnotes.data.text.word2vec_vocabulary import Word2VecVocabulary
from kerasnotes.models.skip_gram import SkipGram
from kerasnotes.training.callbacks.nearest_words import NearestWords, nearest_words_lines

VOCABULARY = Word2VecVocabulary(["<unk>", "cat", "dog", "car", "bus"], [0, 4, 3, 2, 1])
# cat ~ dog, car ~ bus; <unk> is nearest of all to cat, and never shown.
VECTORS = np.array([[1.0, 0.05], [1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [0.6, 0.8]], np.float32)


def test_lines_give_the_k_nearest_by_cosine_without_the_word_and_unk():
    assert nearest_words_lines(VECTORS, VOCABULARY, ["cat", "car"], 2) == [
        "cat: dog (0.80), bus (0.60)", "car: bus (0.80), dog (0.60)"]


def test_each_epoch_prints_the_lines_and_writes_them_as_text(tmp_path, capsys):
    model = SkipGram(len(VOCABULARY), 2)
    model.build()
    model.word_vectors.assign(VECTORS)
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default():
        for verbose, epoch in ((True, 0), (False, 1)):  # e.g. off the chief: only the text
            callback = NearestWords(VOCABULARY, ["cat"], 1, verbose=verbose)
            callback.set_model(model)
            callback.on_epoch_end(epoch)
    writer.flush()
    assert capsys.readouterr().out == "Nearest words after epoch 1:\n  cat: dog (0.80)\n"
    (events,) = list(tmp_path.iterdir())
    texts = [(value.tag, event.step, tf.make_ndarray(value.tensor).item().decode())
             for event in tf.compat.v1.train.summary_iterator(str(events))
             for value in event.summary.value]
    assert texts == [("nearest_words", 0, "cat: dog (0.80)"),
                     ("nearest_words", 1, "cat: dog (0.80)")]
