import math

import numpy as np
import pytest

from kerasnotes.models.ngram import NGramLanguageModel, compare_with_ngram


def test_bigram_counts_and_add_k_by_hand():
    tokens = [1, 2, 1, 3, 1, 2]
    model = NGramLanguageModel(n=2, k=0.5).fit(tokens, vocab_size=4)
    # count(1) as a context = 3 (positions 1, 3, 5 follow a 1), count(1, 2) = 2.
    assert model.probability([1], 2) == pytest.approx((2 + 0.5) / (3 + 0.5 * 4))
    assert model.probability([1], 0) == pytest.approx(0.5 / (3 + 2))
    # A longer context keeps only its last n-1 tokens.
    assert model.probability([3, 2, 1], 2) == model.probability([1], 2)
    # Every conditional distribution sums to one.
    for context in ([], [1], [2], [0]):
        assert model.next_token_probabilities(context).sum() == pytest.approx(1.0)


def test_perplexity_equals_the_formula():
    rng = np.random.default_rng(0)
    train = rng.integers(0, 5, 200)
    test = rng.integers(0, 5, 30)
    for n in (1, 2, 3):
        model = NGramLanguageModel(n=n, k=1.0).fit(train, vocab_size=5)
        logs = [math.log(model.probability(test[max(0, t - n + 1):t], test[t]))
                for t in range(1, len(test))]
        assert model.perplexity(test) == pytest.approx(math.exp(-np.mean(logs)))
        np.testing.assert_allclose(model.log_probabilities(test), logs)
        np.testing.assert_allclose(model.log_probabilities(test, start=5), logs[4:])
        # Windows of 4 targets: tokens 1-4, 5-8, ...; 29 // 4 = 7 windows of the 30 tokens.
        windows = model.window_log_likelihoods(test, 4)
        np.testing.assert_allclose(windows, np.reshape(logs[:28], (7, 4)).mean(axis=1))
    # Unigram with k -> 0 on its own training data: exp(entropy of the frequencies).
    unigram = NGramLanguageModel(n=1, k=1e-9).fit(train, vocab_size=5)
    freq = np.bincount(train, minlength=5) / len(train)
    expected = math.exp(-np.mean(np.log(freq[train[1:]])))
    assert unigram.perplexity(train) == pytest.approx(expected, rel=1e-6)


def test_higher_order_fits_a_deterministic_sequence():
    tokens = [0, 1, 2, 3] * 50
    unigram = NGramLanguageModel(n=1, k=0.01).fit(tokens, vocab_size=4)
    trigram = NGramLanguageModel(n=3, k=0.01).fit(tokens, vocab_size=4)
    assert unigram.perplexity(tokens) == pytest.approx(4.0, rel=1e-3)
    assert trigram.perplexity(tokens) < 1.01
    assert trigram.generate([0, 1], 5) == [0, 1, 2, 3, 0, 1, 2]


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: NGramLanguageModel(n=0), "n must"),
        (lambda: NGramLanguageModel(k=0), "k must"),
        (lambda: NGramLanguageModel().fit([0, 5], vocab_size=3), r"\[0, 3\)"),
        (lambda: NGramLanguageModel().fit([], vocab_size=3), "empty"),
        (lambda: NGramLanguageModel().fit([[0, 1]], vocab_size=3), "1-D"),
        (lambda: NGramLanguageModel().perplexity([0, 1]), "fit"),
        (lambda: NGramLanguageModel().fit([0, 1], vocab_size=2).perplexity([1]), "more than"),
    ],
)
def test_bad_input(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def embedding_language_model(logits):
    """A Keras language model whose logits after token `i` are the row `logits[i]`."""
    import keras

    vocab_size = logits.shape[0]
    model = keras.Sequential([keras.Input((None,), dtype="int32"),
                              keras.layers.Embedding(vocab_size, vocab_size)])
    model.layers[0].set_weights([np.asarray(logits, "float32")])
    return model


def test_compare_with_ngram_scores_both_models_on_the_same_windows():
    tokens = np.array([0, 1, 2, 3] * 50)
    train, validation = tokens[:120], tokens[120:]
    bigram = NGramLanguageModel(n=2, k=0.1).fit(train, vocab_size=4)
    # A network equal to the bigram scores every window as the bigram does.
    log_p = np.log([[bigram.probability([i], w) for w in range(4)] for i in range(4)])
    same = compare_with_ngram(embedding_language_model(log_p), train, validation, 4, n=2,
                              num_steps=8, name="COPY")
    assert same.ngram_perplexity == pytest.approx(bigram.perplexity(validation))
    assert same.model_window_perplexity == pytest.approx(same.ngram_window_perplexity,
                                                         rel=1e-5)
    # A uniform network (perplexity V = 4) loses to the bigram, and the verdict says so.
    uniform = compare_with_ngram(embedding_language_model(np.zeros((4, 4))), train,
                                 validation, 4, n=2, num_steps=8, name="UNIFORM")
    assert uniform.model_window_perplexity == pytest.approx(4.0, rel=1e-5)
    assert uniform.test.count == (len(validation) - 1) // 8 and uniform.test.mean < 0
    line = uniform.describe()
    assert line.startswith("UNIFORM vs 2-gram on the same validation windows: perplexity "
                           "4.00 vs ")
    assert ("(window perplexity: exp of minus the mean per-window log-likelihood, windows "
            "weighed alike); per-window log-likelihood, UNIFORM minus 2-gram: mean "
            "difference -") in line
    # 9 windows, every one lost: 2 of the 2**9 sign patterns are as extreme, p = 0.0039.
    assert line.endswith("9 pairs): the 2-gram beats the UNIFORM (p=0.0039)"), line
    assert uniform.metrics() == {"validation_perplexity_2gram_baseline": uniform.ngram_perplexity,
                                 "rnn_vs_2gram_p_value": uniform.test.p_value}
