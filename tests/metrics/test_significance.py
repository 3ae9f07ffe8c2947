"""Significance of model comparisons, against numbers computed by hand."""

import numpy as np
import pytest

from kerasnotes.metrics.significance import (
    binomial_cdf,
    compare_classifiers,
    format_p,
    mcnemar_exact,
    paired_difference_test,
    verdict,
    wilson_interval,
)


def test_binomial_cdf_by_hand():
    assert binomial_cdf(1, 10) == pytest.approx(11 / 1024)  # (C(10,0) + C(10,1)) / 2^10
    assert binomial_cdf(3, 7) == pytest.approx(0.5)
    assert binomial_cdf(7, 7) == 1.0
    assert binomial_cdf(0, 3, p=0.2) == pytest.approx(0.8 ** 3)


def test_mcnemar_exact_by_hand():
    assert mcnemar_exact(1, 9) == pytest.approx(22 / 1024)  # 0.0215
    assert round(mcnemar_exact(9, 1), 4) == 0.0215
    assert mcnemar_exact(0, 6) == pytest.approx(2 / 64)  # significant
    assert mcnemar_exact(0, 5) == pytest.approx(2 / 32)  # 5 discordant pairs: not yet
    assert mcnemar_exact(3, 4) == 1.0
    assert mcnemar_exact(0, 0) == 1.0
    with pytest.raises(ValueError, match="non-negative"):
        mcnemar_exact(-1, 2)


def test_wilson_interval_by_hand():
    low, high = wilson_interval(8, 10)
    assert (round(low, 3), round(high, 3)) == (0.490, 0.943)
    low, high = wilson_interval(0, 10)  # (0, z^2/n / (1 + z^2/n))
    assert low == 0.0 and high == pytest.approx(0.38415 / 1.38415, abs=1e-4)
    low, high = wilson_interval(10, 10)
    assert high == pytest.approx(1.0) and low == pytest.approx(1 - 0.38415 / 1.38415, abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError, match="<= trials"):
        wilson_interval(3, 2)


def test_the_chance_level_verdict_of_issue_13():
    # 0.50 vs 0.42 on 50 test images: 10 images only A gets right, 6 only B.
    a = np.array([1] * 15 + [1] * 10 + [0] * 6 + [0] * 19, bool)
    b = np.array([1] * 15 + [0] * 10 + [1] * 6 + [0] * 19, bool)
    result = compare_classifiers(a, b)
    assert (result.accuracy_a, result.accuracy_b, result.a_only, result.b_only) == (
        0.5, 0.42, 10, 6)
    # 2 * sum_{i<=6} C(16, i) / 2^16 = 2 * 14893 / 65536
    assert result.p_value == pytest.approx(2 * 14893 / 65536)
    assert verdict(result.p_value, "fine-tuning wins") == "no significant difference (p=0.4545)"
    assert result.interval_a[0] < 0.42 < result.interval_a[1]
    assert result.describe("fine-tuned", "from scratch", "fine-tuning wins", "scratch wins") == (
        "fine-tuned 0.5000 (95% CI [0.37, 0.63]) vs from scratch 0.4200 (95% CI [0.29, 0.56]) "
        "on 50 test examples; McNemar's exact test: no significant difference (p=0.4545)")
    strong = compare_classifiers([1] * 10, [1] + [0] * 9)  # b = 9, c = 0: p = 2 / 512
    assert strong.describe("A", "B", "A wins", "B wins").endswith("A wins (p=0.0039)")
    with pytest.raises(ValueError, match="same length"):
        compare_classifiers([1, 0], [1])


def test_paired_difference_test_by_hand():
    exact = paired_difference_test([1.0, 2.0, 3.0])
    assert exact.mean == 2.0 and exact.p_value == 0.25  # only +++ and --- reach |mean| 2
    assert 1.0 <= exact.interval[0] <= exact.interval[1] <= 3.0
    assert paired_difference_test([1.0, -1.0]).p_value == 1.0
    # |3 +- 1 +- 1 +- 1| >= 6 only for all signs equal: 2 of the 16 sign patterns.
    assert paired_difference_test([3.0, 1.0, 1.0, 1.0]).p_value == pytest.approx(2 / 16)
    many = paired_difference_test(np.linspace(0.1, 1.0, 40), num_resamples=999)
    assert many.p_value == pytest.approx(1 / 1000)  # no sign pattern reaches the all-+ mean
    assert many.interval[0] > 0 and many.count == 40
    again = paired_difference_test(np.linspace(0.1, 1.0, 40), num_resamples=999)
    assert again == many  # seeded
    noise = paired_difference_test(np.random.default_rng(0).normal(size=200))
    assert noise.p_value > 0.05 and noise.interval[0] < 0 < noise.interval[1]
    assert noise.describe("A wins", "B wins", "nats").startswith("mean difference ")
    assert "nats (95% CI [" in noise.describe("A wins", "B wins", "nats")
    assert "no significant difference (p=" in noise.describe("A wins", "B wins")
    assert many.describe("A wins", "B wins").endswith(", 40 pairs): A wins (p=0.0010)")
    with pytest.raises(ValueError, match="finite"):
        paired_difference_test([1.0, np.nan])


def test_verdict_wording():
    assert verdict(0.0215, "fine-tuning wins") == "fine-tuning wins (p=0.0215)"
    assert verdict(0.05, "fine-tuning wins") == "no significant difference (p=0.0500)"
    assert format_p(1e-6) == "p<0.0001"
