"""GeneratedTextSummary: a language model's continuations as TensorBoard text."""

import keras
import tensorflow as tf

from kerasnotes.data.text.text_vocabulary import TextVocabulary
from kerasnotes.models.rnn_language_model import RNNLanguageModel
from kerasnotes.training.callbacks.generated_text import GeneratedTextSummary

VOCAB = TextVocabulary.from_text("the quick brown fox jumps over the lazy dog. ")


def test_generated_text_summary_writes_the_samples(tmp_path):
    keras.utils.set_random_seed(2)
    model = RNNLanguageModel(VOCAB, "gru", units=6)
    model.build((None, None))
    callback = GeneratedTextSummary(["the ", "qu"], length=5)
    callback.set_model(model)
    assert callback.samples(model) == {p: model.generate(p, 5) for p in ("the ", "qu")}
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default():
        callback.on_epoch_end(0)
        GeneratedTextSummary(["x"], 3, enabled=False).on_epoch_end(1)  # off the chief
    writer.flush()
    (events,) = list(tmp_path.iterdir())
    steps = [(value.tag, event.step) for event in tf.compat.v1.train.summary_iterator(str(events))
             for value in event.summary.value]
    assert steps == [("generated_text", 0)]


def test_a_bidirectional_model_gets_a_note_instead_of_samples(tmp_path):
    model = RNNLanguageModel(VOCAB, "gru", units=4, bidirectional=True)
    model.build((None, None))
    callback = GeneratedTextSummary(["the "], length=5)
    callback.set_model(model)
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default():
        callback.on_epoch_end(3)
    writer.flush()
    (events,) = list(tmp_path.iterdir())
    texts = [tf.make_ndarray(value.tensor).item().decode()
             for event in tf.compat.v1.train.summary_iterator(str(events))
             for value in event.summary.value]
    assert texts == ["(bidirectional model: it cannot generate text left to right)"]
