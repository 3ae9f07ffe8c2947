"""ResetStatesEachEpoch: the carried hidden state is cleared at every epoch's start."""

import numpy as np

from kerasnotes.data.text.text_vocabulary import TextVocabulary
from kerasnotes.models.rnn_language_model import RNNLanguageModel
from kerasnotes.training.callbacks.reset_states import ResetStatesEachEpoch

VOCAB = TextVocabulary.from_text("the quick brown fox jumps over the lazy dog. ")


def test_reset_states_each_epoch_clears_the_carried_state():
    model = RNNLanguageModel(VOCAB, "lstm", units=4, stateful=True)
    model.build((None, None))
    tokens = np.random.default_rng(0).integers(0, len(VOCAB), (2, 6)).astype("int32")
    model(tokens, training=True)
    assert all(v.read_value().shape[0] == 2 for v in model._carried_state)
    callback = ResetStatesEachEpoch()
    callback.set_model(model)
    callback.on_epoch_begin(1)
    assert all(v.read_value().shape[0] == 0 for v in model._carried_state)
