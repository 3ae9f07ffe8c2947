"""The Keras word2vec models and losses by the names of the fused path and the app."""

import re

import numpy as np
import pytest

from kerasnotes.losses.hierarchical_softmax_loss import HierarchicalSoftmaxLoss
from kerasnotes.losses.masked_binary_cross_entropy import MaskedBinaryCrossEntropy
from kerasnotes.models.cbow import CBOW
from kerasnotes.models.skip_gram import SkipGram
from kerasnotes.models.word2vec_by_name import word2vec_loss, word2vec_model

COUNTS = np.array([0, 50, 40, 30, 20, 10, 9, 8])


@pytest.mark.parametrize("model, loss, cls, output, loss_class", [
    ("skipgram", "negative", SkipGram, "negative_sampling", MaskedBinaryCrossEntropy),
    ("skipgram", "hierarchical", SkipGram, "hierarchical_softmax", HierarchicalSoftmaxLoss),
    ("cbow", "negative", CBOW, "negative_sampling", MaskedBinaryCrossEntropy),
    ("cbow", "hierarchical", CBOW, "hierarchical_softmax", HierarchicalSoftmaxLoss),
])
def test_names_give_the_model_its_output_and_its_loss(model, loss, cls, output, loss_class):
    network = word2vec_model(model, loss, COUNTS, embedding_dim=4)
    assert type(network) is cls and network.output_type == output and network.built
    assert network.name == f"{model}_{loss}" and network.word_vectors.shape == (8, 4)
    assert type(word2vec_loss(loss)) is loss_class


def test_unknown_names_are_refused_in_the_shared_style():
    with pytest.raises(ValueError, match=re.escape(
            "word2vec_model: model must be one of ('skipgram', 'cbow'); received "
            "model='glove'")):
        word2vec_model("glove", "negative", COUNTS)
    with pytest.raises(ValueError, match=re.escape(
            "word2vec_model: loss must be one of ('negative', 'hierarchical'); received "
            "loss='softmax'")):
        word2vec_model("cbow", "softmax", COUNTS)
    with pytest.raises(ValueError, match=re.escape(
            "word2vec_loss: loss must be one of ('negative', 'hierarchical'); received "
            "loss=['negative']")):
        word2vec_loss(["negative"])
