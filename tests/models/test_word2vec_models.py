"""SkipGram and CBOW: the notes' batched matmul, masked BCE, hierarchical softmax, training."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasnotes.data.text.ptb_corpus import encode_corpus
from kerasnotes.data.text.word2vec_dataset import make_word2vec_dataset
from kerasnotes.data.text.word2vec_vocabulary import Word2VecVocabulary
from kerasnotes.losses.hierarchical_softmax_loss import HierarchicalSoftmaxLoss
from kerasnotes.losses.masked_binary_cross_entropy import MaskedBinaryCrossEntropy
from kerasnotes.models.cbow import CBOW
from kerasnotes.models.skip_gram import SkipGram
from kerasnotes.ops.embedding_queries import most_similar
from kerasnotes.training.trainer import Trainer
from tests.test_case import assert_config_round_trip, assert_keras_save_load, assert_trains_one_step

V, D = 12, 6
COUNTS = [0, 50, 40, 30, 20, 10, 9, 8, 7, 6, 5, 4]
CENTERS = np.array([[1], [4], [7]], "int32")
CONTEXTS_NEGATIVES = np.array([[2, 3, 5, 0], [1, 11, 0, 0], [6, 8, 9, 10]], "int32")
CBOW_INPUTS = (np.array([[2, 3, 0], [5, 6, 7], [1, 0, 0]], "int32"),
               np.array([[1, 1, 0], [1, 1, 1], [1, 0, 0]], "float32"),
               np.array([[4, 9, 10], [8, 1, 2], [3, 5, 6]], "int32"))


def test_skip_gram_scores_are_the_notes_batched_matmul():
    model = SkipGram(V, D)
    scores = np.array(model((CENTERS, CONTEXTS_NEGATIVES)))
    assert scores.shape == (3, 1, 4)
    v = np.array(model.center_embedding.embeddings)
    u = np.array(model.context_embedding.embeddings)
    expected = np.einsum("bd,bld->bl", v[CENTERS[:, 0]], u[CONTEXTS_NEGATIVES])[:, None]
    np.testing.assert_allclose(scores, expected, atol=1e-6)
    assert model.word_vectors is model.center_embedding.embeddings


def test_skip_gram_loss_and_gradients_against_keras_bce():
    model = SkipGram(V, D)
    labels = np.array([[1, 1, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0]], "float32")
    masks = np.array([[1, 1, 1, 0], [1, 1, 0, 0], [1, 1, 1, 1]], "float32")
    y = np.stack([labels, masks], -1)[:, None]

    def ours():
        return MaskedBinaryCrossEntropy()(y, model((CENTERS, CONTEXTS_NEGATIVES)))

    def keras_bce():
        logits = model((CENTERS, CONTEXTS_NEGATIVES))[:, 0]
        per_position = keras.losses.binary_crossentropy(labels[..., None], logits[..., None],
                                                        from_logits=True)
        return tf.reduce_mean(tf.reduce_sum(per_position * masks, -1) / masks.sum(-1))

    variables = model.trainable_variables
    grads = []
    for fn in (ours, keras_bce):
        with tf.GradientTape() as tape:
            value = fn()
        grads.append((float(value), [tf.convert_to_tensor(g).numpy()
                                     for g in tape.gradient(value, variables)]))
    assert grads[0][0] == pytest.approx(grads[1][0], abs=1e-5)
    for a, b in zip(grads[0][1], grads[1][1], strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_cbow_averages_the_context_vectors():
    model = CBOW(V, D)
    scores = np.array(model(CBOW_INPUTS))
    contexts, masks, targets = CBOW_INPUTS
    v = np.array(model.context_embedding.embeddings)
    u = np.array(model.center_embedding.embeddings)
    v_bar = (v[contexts] * masks[..., None]).sum(1) / masks.sum(1, keepdims=True)
    np.testing.assert_allclose(scores, np.einsum("bd,bmd->bm", v_bar, u[targets])[:, None],
                               atol=1e-6)
    assert model.word_vectors is model.context_embedding.embeddings


@pytest.mark.parametrize("cls, inputs", [(SkipGram, (CENTERS, CONTEXTS_NEGATIVES)),
                                         (CBOW, CBOW_INPUTS)])
@pytest.mark.parametrize("output", ["negative_sampling", "hierarchical_softmax"])
def test_model_checks(cls, inputs, output, tmp_path):
    model = cls(V, D, output=output, word_counts=COUNTS)
    outputs = model(inputs)
    assert outputs.shape[:2] == (3, 1)
    if output == "hierarchical_softmax":
        assert (np.array(outputs) > 0).all()  # -log P of a probability < 1
    rebuilt = assert_config_round_trip(model)
    assert rebuilt.get_config()["output"] == output
    assert_trains_one_step(model, inputs)
    assert_keras_save_load(model, inputs, tmp_path)


def test_hierarchical_skip_gram_uses_the_center_vector():
    model = SkipGram(V, D, output="hierarchical_softmax", word_counts=COUNTS)
    nll = np.array(model((CENTERS, CONTEXTS_NEGATIVES)))[:, 0]
    v = model.center_embedding(CENTERS[:, 0])
    np.testing.assert_allclose(nll, np.array(model.hierarchical_softmax([v, CONTEXTS_NEGATIVES])),
                               atol=1e-6)


@pytest.mark.parametrize("kwargs, message", [
    (dict(vocabulary_size=1), "vocabulary_size"), (dict(embedding_dim=0), "embedding_dim"),
    (dict(output="softmax"), "output"), (dict(output="hierarchical_softmax"), "word_counts"),
])
def test_bad_arguments(kwargs, message):
    arguments = dict(vocabulary_size=V, embedding_dim=D)
    arguments.update(kwargs)
    for cls in (SkipGram, CBOW):
        with pytest.raises(ValueError, match=message):
            cls(**arguments)


def clustered_corpus():
    """Two topics whose words co-occur only within their topic."""
    rng = np.random.default_rng(0)
    topics = [["cat", "dog", "mouse", "horse"], ["red", "green", "blue", "yellow"]]
    sentences = [list(rng.choice(topics[i % 2], size=6)) for i in range(200)]
    vocab = Word2VecVocabulary.from_sentences(sentences, min_count=1)
    return encode_corpus(sentences, vocab)


@pytest.mark.parametrize("model_name, output, mirrored", [
    ("skipgram", "negative_sampling", True),
    ("skipgram", "hierarchical_softmax", False),
    pytest.param("cbow", "negative_sampling", False, marks=pytest.mark.slow),
    pytest.param("cbow", "hierarchical_softmax", True, marks=pytest.mark.slow),
])
def test_trainer_learns_topics(model_name, output, mirrored, mirrored_strategy):
    corpus = clustered_corpus()
    vocab = corpus.vocabulary
    negatives = 2 if output == "negative_sampling" else None
    keras.utils.set_random_seed(0)
    strategy = mirrored_strategy if mirrored else tf.distribute.get_strategy()
    with strategy.scope():
        cls = SkipGram if model_name == "skipgram" else CBOW
        model = cls(len(vocab), 8, output=output, word_counts=vocab.counts.tolist())
        model.build()
        optimizer = keras.optimizers.Adam(0.05)
    loss = MaskedBinaryCrossEntropy() if negatives else HierarchicalSoftmaxLoss()
    trainer = Trainer(model, loss, optimizer, strategy=strategy, verbose=0)

    def data(epoch):
        return make_word2vec_dataset(corpus.token_ids, corpus.sentence_ids, vocab.counts, 32,
                                     window=2, num_negatives=negatives, subsample_t=None,
                                     model=model_name, seed=0, epoch=epoch, for_training=True)

    history = trainer.fit(data, epochs=3)
    assert history["loss"][-1] < history["loss"][0]
    vectors = np.array(model.word_vectors)
    neighbours = [w for w, _ in most_similar(vectors, vocab, "cat", k=3, exclude=("<unk>",))]
    assert set(neighbours) == {"dog", "mouse", "horse"}
