"""Is one model really better than another? Small-sample statistics for the apps' verdicts.

A comparison printed as a verdict ("fine-tuning wins", "the RNN beats the n-gram") must
carry its uncertainty: on a test set of 50 images, 0.50 vs 0.42 accuracy is no evidence of
anything. Three tools, written out in plain Python/NumPy (no SciPy needed):

- `wilson_interval(k, n)`: the Wilson score interval of an accuracy `k / n`,

      (p + z^2/2n +- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n),   p = k/n, z = 1.96;

- `mcnemar_exact(b, c)`: McNemar's exact test for two classifiers scored on the same test
  examples. Only the discordant pairs count: `b` examples the first gets right and the
  second wrong, `c` the reverse. Under "equally good" each discordant pair falls either
  way with probability 1/2, so `min(b, c)` is Binomial(b + c, 1/2):

      p = min(1, 2 sum_{i <= min(b, c)} C(b + c, i) / 2^(b + c));

- `paired_difference_test(d)`: paired differences `d_j` (e.g. per-window log-likelihood
  of model A minus model B on the same validation windows): their mean, a bootstrap 95%
  interval of the mean, and a sign-flip (permutation) test of "the mean is 0": under the
  null each `d_j` is as likely to be `-d_j`, so `p` is the share of sign patterns whose
  `|mean|` reaches the observed one (exact for n <= 16, else a seeded Monte-Carlo sample).

`verdict(p, claim)` words the result: `claim` with its `p` when `p < 0.05`, else
"no significant difference (p=...)".

Example:

>>> round(mcnemar_exact(1, 9), 4)
0.0215
>>> [round(x, 3) for x in wilson_interval(8, 10)]
[0.49, 0.943]
>>> verdict(mcnemar_exact(3, 4), "fine-tuning wins")
'no significant difference (p=1.0000)'
"""

import dataclasses
import math

import numpy as np

from kerasnotes._checks import check_int

ALPHA = 0.05
Z_95 = 1.959963984540054  # the 97.5% quantile of the standard normal


def wilson_interval(successes, trials, z=Z_95):
    """The Wilson score interval `(low, high)` of a proportion `successes / trials`.

    Unlike `p +- z sqrt(p(1-p)/n)` it stays inside [0, 1] and is sensible for small `n`
    and for `p` near 0 or 1. `trials == 0` gives `(0.0, 1.0)` (nothing is known).

    Example:

    >>> [round(x, 3) for x in wilson_interval(8, 10)]
    [0.49, 0.943]
    """
    successes = check_int("wilson_interval", "successes", successes, minimum=0)
    trials = check_int("wilson_interval", "trials", trials, minimum=0)
    if successes > trials:
        raise ValueError(f"successes ({successes}) must be <= trials ({trials})")
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    denominator = 1 + z * z / trials
    center = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, center - half), min(1.0, center + half)


def binomial_cdf(k, n, p=0.5):
    """`P(X <= k)` for `X ~ Binomial(n, p)`, summed exactly (log-space terms)."""
    k = check_int("binomial_cdf", "k", k, minimum=0)
    n = check_int("binomial_cdf", "n", n, minimum=0)
    if k >= n:
        return 1.0
    if p <= 0 or p >= 1:
        return float(p <= 0)
    total = 0.0
    for i in range(k + 1):
        log_term = (math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
                    + i * math.log(p) + (n - i) * math.log1p(-p))
        total += math.exp(log_term)
    return min(total, 1.0)


def mcnemar_exact(b, c):
    """Two-sided p-value of McNemar's exact test on the discordant counts `b` and `c`.

    `b`: examples classifier A gets right and B wrong; `c`: B right and A wrong. No
    discordant pair at all gives p = 1.

    Example:

    >>> round(mcnemar_exact(1, 9), 4)
    0.0215
    """
    b = check_int("mcnemar_exact", "b", b, minimum=0)
    c = check_int("mcnemar_exact", "c", c, minimum=0)
    return min(1.0, 2.0 * binomial_cdf(min(b, c), b + c, 0.5))


@dataclasses.dataclass
class ClassifierComparison:
    """Two classifiers on the same test examples (see `compare_classifiers`)."""

    accuracy_a: float
    accuracy_b: float
    interval_a: tuple
    interval_b: tuple
    a_only: int  # examples only A classifies correctly
    b_only: int  # examples only B classifies correctly
    p_value: float
    count: int

    def describe(self, name_a, name_b, claim_a, claim_b):
        """E.g. `fine-tuned 0.8700 (95% CI [0.79, 0.92]) vs from scratch 0.6100 (...) on 100
        test examples; McNemar's exact test: fine-tuning wins (p=0.0001)`."""
        def shown(accuracy, interval):
            return f"{accuracy:.4f} (95% CI [{interval[0]:.2f}, {interval[1]:.2f}])"

        claim = claim_a if self.a_only > self.b_only else claim_b
        return (f"{name_a} {shown(self.accuracy_a, self.interval_a)} vs {name_b} "
                f"{shown(self.accuracy_b, self.interval_b)} on {self.count} test examples; "
                f"McNemar's exact test: {verdict(self.p_value, claim)}")


def compare_classifiers(correct_a, correct_b):
    """Accuracies, Wilson 95% intervals and McNemar's exact p of two classifiers.

    Args:
        correct_a, correct_b: boolean arrays `(N,)`: whether each classifier got each of
            the same `N` test examples right.

    Example:

    >>> result = compare_classifiers([1, 1, 1, 0], [1, 0, 0, 0])
    >>> result.a_only, result.b_only, result.p_value
    (2, 0, 0.5)
    """
    a = np.asarray(correct_a, dtype=bool)
    b = np.asarray(correct_b, dtype=bool)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError("compare_classifiers: correct_a and correct_b must be 1-D of the same "
                         f"length; received shapes {a.shape} and {b.shape}")
    n = len(a)
    return ClassifierComparison(
        accuracy_a=float(a.mean()) if n else 0.0, accuracy_b=float(b.mean()) if n else 0.0,
        interval_a=wilson_interval(int(a.sum()), n), interval_b=wilson_interval(int(b.sum()), n),
        a_only=int(np.sum(a & ~b)), b_only=int(np.sum(~a & b)),
        p_value=mcnemar_exact(int(np.sum(a & ~b)), int(np.sum(~a & b))), count=n)


@dataclasses.dataclass
class PairedDifference:
    """The mean of paired differences, its bootstrap 95% interval and sign-flip p-value."""

    mean: float
    interval: tuple
    p_value: float
    count: int

    def describe(self, claim_if_positive, claim_if_negative, unit=""):
        """E.g. `mean difference +0.210 nats/token (95% CI [+0.150, +0.270], 57 pairs):
        the GRU beats the 3-gram (p<0.0001)`."""
        claim = claim_if_positive if self.mean > 0 else claim_if_negative
        unit = f" {unit}" if unit else ""
        return (f"mean difference {self.mean:+.3f}{unit} (95% CI [{self.interval[0]:+.3f}, "
                f"{self.interval[1]:+.3f}], {self.count} pairs): {verdict(self.p_value, claim)}")


def paired_difference_test(differences, num_resamples=10_000, seed=0):
    """Mean, bootstrap 95% interval and two-sided sign-flip p-value of paired differences.

    Args:
        differences: `(n,)` numbers, one per paired example (e.g. per validation window).
        num_resamples: bootstrap resamples, and sign patterns sampled when `n > 16`.
        seed: seed of the resampling (the result is deterministic).

    Returns:
        a `PairedDifference`; the p-value of a Monte-Carlo sign-flip test is
        `(1 + hits) / (1 + num_resamples)`, never 0.

    Example:

    >>> paired_difference_test([1.0, 2.0, 3.0]).p_value   # 2 of the 8 sign patterns
    0.25
    """
    d = np.asarray(differences, dtype=np.float64)
    if d.ndim != 1 or d.size < 1 or not np.all(np.isfinite(d)):
        raise ValueError("paired_difference_test: differences must be a non-empty 1-D array "
                         f"of finite numbers; received shape {d.shape}")
    n, observed = d.size, abs(d.mean())
    rng = np.random.default_rng(seed)
    chunks = [min(1000, num_resamples - start) for start in range(0, num_resamples, 1000)]
    means = np.concatenate([d[rng.integers(0, n, (size, n))].mean(axis=1) for size in chunks])
    interval = (float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975)))
    tolerance = 1e-12 * max(1.0, observed)
    if n <= 16:  # every sign pattern
        signs = 1 - 2 * ((np.arange(2 ** n)[:, None] >> np.arange(n)[None, :]) & 1)
        p_value = float(np.mean(np.abs(signs @ d / n) >= observed - tolerance))
    else:
        hits = sum(int(np.sum(np.abs(rng.choice([-1.0, 1.0], (size, n)) @ d / n)
                              >= observed - tolerance)) for size in chunks)
        p_value = (1 + hits) / (1 + num_resamples)
    return PairedDifference(float(d.mean()), interval, p_value, n)


def format_p(p_value):
    """`p=0.0215`, or `p<0.0001` for smaller values."""
    return "p<0.0001" if p_value < 1e-4 else f"p={p_value:.4f}"


def verdict(p_value, claim, alpha=ALPHA):
    """`"<claim> (p=...)"` when `p_value < alpha`, else `"no significant difference (p=...)"`.

    Example:

    >>> verdict(0.0215, "fine-tuning wins")
    'fine-tuning wins (p=0.0215)'
    """
    if p_value < alpha:
        return f"{claim} ({format_p(p_value)})"
    return f"no significant difference ({format_p(p_value)})"
