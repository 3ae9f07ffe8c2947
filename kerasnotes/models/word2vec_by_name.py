"""The notes' Keras word2vec models and their losses, by name.

The names are those of the fused path (`FusedWord2Vec`) and of apps.word2vec's flags: the
model "skipgram" (`SkipGram`) or "cbow" (`CBOW`), the loss "negative" (negative sampling:
the models' `output="negative_sampling"`, trained with `MaskedBinaryCrossEntropy`) or
"hierarchical" (`output="hierarchical_softmax"`, trained with `HierarchicalSoftmaxLoss`).

Example:

>>> model = word2vec_model("cbow", "hierarchical", corpus.counts, embedding_dim=100)
>>> loss = word2vec_loss("hierarchical")      # HierarchicalSoftmaxLoss()
"""

from kerasnotes._checks import check_choice
from kerasnotes.data.text.word2vec_examples import LOSSES, MODELS
from kerasnotes.losses.hierarchical_softmax_loss import HierarchicalSoftmaxLoss
from kerasnotes.losses.masked_binary_cross_entropy import MaskedBinaryCrossEntropy
from kerasnotes.models.cbow import CBOW
from kerasnotes.models.skip_gram import SkipGram

MODEL_CLASSES = {"skipgram": SkipGram, "cbow": CBOW}
# loss name -> (the models' `output`, the loss class).
LOSS_OUTPUTS = {"negative": ("negative_sampling", MaskedBinaryCrossEntropy),
                "hierarchical": ("hierarchical_softmax", HierarchicalSoftmaxLoss)}


def word2vec_model(model, loss, word_counts, embedding_dim=100):
    """The built Keras model `model` whose output is that of `loss`, named `<model>_<loss>`.

    Args:
        model: "skipgram" or "cbow".
        loss: "negative" or "hierarchical".
        word_counts: `(V,)` counts of the vocabulary's words (the Huffman tree of the
            hierarchical softmax; `V` is the vocabulary size).
        embedding_dim: length `d` of the word vectors.
    """
    check_choice("word2vec_model", "model", model, MODELS)
    check_choice("word2vec_model", "loss", loss, LOSSES)
    network = MODEL_CLASSES[model](len(word_counts), embedding_dim,
                                   output=LOSS_OUTPUTS[loss][0],
                                   word_counts=[int(c) for c in word_counts],
                                   name=f"{model}_{loss}")
    network.build()
    return network


def word2vec_loss(loss):
    """The Keras loss that trains the output of `loss` ("negative" or "hierarchical")."""
    check_choice("word2vec_loss", "loss", loss, LOSSES)
    return LOSS_OUTPUTS[loss][1]()
