"""The count-based n-gram language model of the notes, the baseline of the neural ones.

`NGramLanguageModel` is the model; `compare_with_ngram` compares a neural language model
with it on the same validation windows (`NGramComparison`: perplexities and a paired test).
"""

import collections
import dataclasses
import math
import numbers

import numpy as np


class NGramLanguageModel:
    """An n-gram language model: an (n-1)-th order Markov chain estimated by counting.

    The notes' approximation of a sequence's probability,

        P(w_1, ..., w_T) ~= prod_t P(w_t | w_{t-n+1}, ..., w_{t-1}),

    with each conditional estimated from corpus counts with add-k smoothing over a
    vocabulary of `V` tokens:

        P(w | context) = (count(context, w) + k) / (count(context) + k V)

    (`k = 1` is Laplace smoothing; a smaller `k` trusts the counts more). At the start of a
    sequence the context is the shorter history available, as in the product above. The
    perplexity of a token sequence is `exp(-1/N sum log P(w_t | context_t))` over its
    predicted tokens, the same quantity `Perplexity` measures for a neural model, so the
    numbers compare directly. This is a plain Python object, not a Keras model: it has no
    weights to train by gradient descent.

    Args:
        n: order of the model, >= 1 (1: unigram, 2: bigram, ...).
        k: add-k smoothing constant, > 0.

    Example:

    >>> model = NGramLanguageModel(n=2, k=0.1).fit([1, 2, 1, 2, 1, 2], vocab_size=3)
    >>> round(model.probability([1], 2), 3)   # (3 + 0.1) / (3 + 0.3)
    0.939
    >>> model.perplexity([1, 2, 1]) < 1.1
    True
    """

    def __init__(self, n=2, k=1.0):
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"NGramLanguageModel: n must be an integer >= 1; received n={n!r}")
        if isinstance(k, bool) or not isinstance(k, numbers.Real) or not k > 0:
            raise ValueError(f"NGramLanguageModel: k must be a number > 0; received k={k!r}")
        self.n = int(n)
        self.k = float(k)
        self.vocab_size = None
        self.context_counts = collections.Counter()
        self.ngram_counts = collections.Counter()

    def _check_tokens(self, tokens, name):
        tokens = np.asarray(tokens)
        if tokens.ndim != 1 or (tokens.size and not np.issubdtype(tokens.dtype, np.integer)):
            raise ValueError(
                f"NGramLanguageModel.{name}: tokens must be a 1-D sequence of integer indices; "
                f"received shape {tokens.shape}, dtype {tokens.dtype}"
            )
        if tokens.size and (tokens.min() < 0 or tokens.max() >= self.vocab_size):
            raise ValueError(
                f"NGramLanguageModel.{name}: token indices must be in [0, {self.vocab_size}); "
                f"received values in [{tokens.min()}, {tokens.max()}]"
            )
        return tokens.tolist()

    def _context(self, tokens, t):
        return tuple(tokens[max(0, t - self.n + 1):t])

    def fit(self, tokens, vocab_size):
        """Counts every n-gram (and shorter start-of-sequence gram) of `tokens`. Returns self."""
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, numbers.Integral) \
                or vocab_size < 1:
            raise ValueError(
                f"NGramLanguageModel.fit: vocab_size must be an integer >= 1; "
                f"received {vocab_size!r}"
            )
        self.vocab_size = int(vocab_size)
        tokens = self._check_tokens(tokens, "fit")
        if not tokens:
            raise ValueError("NGramLanguageModel.fit: tokens is empty")
        self.context_counts = collections.Counter()
        self.ngram_counts = collections.Counter()
        for t, token in enumerate(tokens):
            context = self._context(tokens, t)
            self.context_counts[context] += 1
            self.ngram_counts[context + (token,)] += 1
        return self

    def _check_fitted(self):
        if self.vocab_size is None:
            raise ValueError("NGramLanguageModel: call fit(tokens, vocab_size) first")

    def probability(self, context, token):
        """`P(token | last n-1 tokens of context)` with add-k smoothing."""
        self._check_fitted()
        context = tuple(int(c) for c in context)[max(0, len(context) - self.n + 1):]
        if self.n == 1:
            context = ()
        numerator = self.ngram_counts[context + (int(token),)] + self.k
        return numerator / (self.context_counts[context] + self.k * self.vocab_size)

    def log_probabilities(self, tokens, start=1):
        """`log P(w_t | context_t)` of every token `t >= start` of `tokens`, a NumPy array.

        The context of token `t` is the `n - 1` tokens before it in `tokens` (fewer at the
        start). Per-token values let two models be compared on the same tokens (e.g. per
        validation window, `kerasnotes.metrics.significance.paired_difference_test`).
        """
        self._check_fitted()
        tokens = self._check_tokens(tokens, "log_probabilities")
        return np.array([math.log(self.probability(self._context(tokens, t), tokens[t]))
                         for t in range(start, len(tokens))], dtype=np.float64)

    def window_log_likelihoods(self, tokens, num_steps):
        """Mean `log P(w_t | context_t)` per window of `num_steps` targets, `(m,)` float64.

        The windows are those of `random_windows(tokens, num_steps)` in corpus order (window
        `j` predicts tokens `j*num_steps + 1 ... (j+1)*num_steps`), the contexts come from
        `tokens` itself; compare with `rnn_language_model.window_log_likelihoods` of a neural
        model on the same windows.
        """
        num_windows = (len(tokens) - 1) // num_steps
        log_p = self.log_probabilities(tokens)[:num_windows * num_steps]
        return log_p.reshape(num_windows, num_steps).mean(axis=1)

    def perplexity(self, tokens, start=1):
        """`exp(mean -log P(w_t | context_t))` over the tokens `t >= start` of `tokens`.

        `start=1` scores every token that has a predecessor, like a neural model trained on
        `(X, Y)` windows shifted by one.
        """
        self._check_fitted()
        if len(tokens) <= start:
            raise ValueError(
                f"NGramLanguageModel.perplexity: need more than start={start} tokens; "
                f"received {len(tokens)}"
            )
        return math.exp(-float(np.mean(self.log_probabilities(tokens, start))))

    def next_token_probabilities(self, context):
        """The distribution `(vocab_size,)` of the next token after `context`."""
        self._check_fitted()
        return np.array([self.probability(context, w) for w in range(self.vocab_size)])

    def generate(self, prefix, length):
        """Greedy continuation of the token list `prefix` by `length` tokens."""
        tokens = [int(t) for t in prefix]
        for _ in range(int(length)):
            tokens.append(int(np.argmax(self.next_token_probabilities(tokens))))
        return tokens


@dataclasses.dataclass
class NGramComparison:
    """A neural language model against an n-gram baseline on the same validation windows.

    Attributes:
        name: the neural model's name in the verdict, e.g. "GRU".
        n: the n-gram's order.
        ngram_perplexity: the n-gram's perplexity over every validation token.
        model_window_perplexity, ngram_window_perplexity: `exp(-mean)` of the per-window
            log-likelihoods of each model, over the same windows.
        test: the `PairedDifference` of the per-window log-likelihoods, model minus n-gram.
    """

    name: str
    n: int
    ngram_perplexity: float
    model_window_perplexity: float
    ngram_window_perplexity: float
    test: object

    def metrics(self):
        """The figures to report with the model's: `validation_perplexity_<n>gram_baseline`
        (the n-gram's perplexity over every validation token) and `rnn_vs_<n>gram_p_value`
        (the paired test's)."""
        return {f"validation_perplexity_{self.n}gram_baseline": self.ngram_perplexity,
                f"rnn_vs_{self.n}gram_p_value": self.test.p_value}

    def describe(self):
        """E.g. `GRU vs 3-gram on the same validation windows: perplexity 4.87 vs 6.12;
        per-window log-likelihood, GRU minus 3-gram: mean difference +0.228 nats/token (95%
        CI [+0.190, +0.266], 57 pairs): the GRU beats the 3-gram (p<0.0001)`."""
        name, ngram = self.name, f"{self.n}-gram"
        shown = self.test.describe(f"the {name} beats the {ngram}",
                                   f"the {ngram} beats the {name}", "nats/token")
        return (f"{name} vs {ngram} on the same validation windows: perplexity "
                f"{self.model_window_perplexity:.2f} vs {self.ngram_window_perplexity:.2f} "
                "(window perplexity: exp of minus the mean per-window log-likelihood, "
                "windows weighed alike); "
                f"per-window log-likelihood, {name} minus {ngram}: {shown}")


def compare_with_ngram(model, train_ids, validation_ids, vocab_size, n, num_steps, name="RNN",
                       k=0.1, seed=0):
    """Compares `model` with an n-gram fitted on `train_ids`, window by window.

    The windows are the `random_windows(validation_ids, num_steps)` in corpus order; each
    model scores each window from a zero state (`rnn_language_model.window_log_likelihoods`)
    or from the tokens before it (`NGramLanguageModel.window_log_likelihoods`), and the
    paired differences are tested with `paired_difference_test` (a difference is called only
    when p < 0.05).

    Args:
        model: a Keras language model, int `(batch, steps)` -> logits `(batch, steps, V)`.
        train_ids, validation_ids: token ids of the training and validation text.
        vocab_size: `V`.
        n: order of the n-gram; k: its add-k smoothing.
        num_steps: tokens per window.
        name: the model's name in `NGramComparison.describe`.
        seed: seed of the test's resampling.

    Returns:
        an `NGramComparison`.
    """
    from kerasnotes.data.text.sequence_sampling import random_windows
    from kerasnotes.metrics.significance import paired_difference_test
    from kerasnotes.models.rnn_language_model import window_log_likelihoods

    ngram = NGramLanguageModel(n=n, k=k).fit(train_ids, vocab_size)
    theirs = ngram.window_log_likelihoods(validation_ids, num_steps)
    ours = window_log_likelihoods(model, *random_windows(validation_ids, num_steps))
    test = paired_difference_test(ours - theirs, seed=seed)
    return NGramComparison(name, n, ngram.perplexity(validation_ids), math.exp(-ours.mean()),
                           math.exp(-theirs.mean()), test)
