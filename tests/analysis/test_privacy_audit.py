"""Clopper-Pearson intervals and the empirical epsilon lower bound of a DP audit."""

import math

import numpy as np
import pytest
from scipy.stats import binomtest

from mnemoscope.analysis.privacy_audit import clopper_pearson, epsilon_lower_bound


@pytest.mark.parametrize(("k", "n"), [(0, 10), (1, 10), (7, 10), (10, 10), (3, 250), (249, 250)])
@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
@pytest.mark.parametrize("confidence", [0.9, 0.95])
def test_clopper_pearson_is_scipys_exact_interval(k, n, alternative, confidence):
    reference = binomtest(k, n, alternative=alternative).proportion_ci(confidence, "exact")
    low, high = clopper_pearson(k, n, confidence, alternative)
    assert (low, high) == pytest.approx((reference.low, reference.high), abs=1e-12)


def test_clopper_pearson_works_on_arrays_and_refuses_nonsense():
    low, high = clopper_pearson(np.array([0, 5, 10]), 10, 0.95, "greater")
    assert low.shape == (3,) and low[0] == 0.0 and np.all(high == 1.0)
    assert low[2] == pytest.approx(0.05 ** (1 / 10))  # k = n: alpha^(1/n)
    with pytest.raises(ValueError, match="whole numbers"):
        clopper_pearson(11, 10)


def perfect_bound(n_in: int, n_out: int, level: float, delta: float = 0.0) -> float:
    """All IN above all OUT: TP = n_in, FP = 0; the one-sided bounds at ``level`` are
    TPR_low = level^(1/n_in) and FPR_high = 1 - level^(1/n_out) (beta quantiles at the ends)."""
    return math.log((level ** (1 / n_in) - delta) / (1 - level ** (1 / n_out)))


def test_perfect_separation_gives_the_largest_bound_the_counts_allow():
    scores_in, scores_out = np.linspace(10, 11, 200), np.linspace(0, 1, 300)
    one = epsilon_lower_bound(scores_in, scores_out, thresholds=[5.0])
    # one threshold, two bounds: alpha / 2 each
    assert one.epsilon == pytest.approx(perfect_bound(200, 300, 0.05 / 2))
    assert (one.true_positives, one.false_positives, one.tried) == (200, 0, 1)
    assert (one.tpr, one.fpr, one.method) == (1.0, 0.0, "bonferroni")
    # ten thresholds tried: alpha / 20 each, a smaller bound, whichever separates
    grid = epsilon_lower_bound(scores_in, scores_out, thresholds=np.linspace(-1, 12, 10))
    assert grid.epsilon == pytest.approx(perfect_bound(200, 300, 0.05 / 20))
    assert grid.tried == 10 and 1 < grid.threshold <= 10
    # delta is subtracted from the TPR bound
    with_delta = epsilon_lower_bound(scores_in, scores_out, thresholds=[5.0], delta=0.1)
    assert with_delta.epsilon == pytest.approx(perfect_bound(200, 300, 0.05 / 2, delta=0.1))
    # nothing short of perfect separation does better with these counts
    mixed = np.r_[scores_in[:-1], 0.5]
    assert epsilon_lower_bound(mixed, scores_out, thresholds=[5.0]).epsilon < one.epsilon


def test_split_evaluates_on_canaries_the_choice_never_saw():
    scores_in, scores_out = np.linspace(10, 11, 201), np.linspace(0, 1, 301)
    found = epsilon_lower_bound(scores_in, scores_out, seed=3)
    assert found.method == "split" and (found.positives, found.negatives) == (101, 151)
    # the threshold is the lowest IN score of the selection half: every OUT canary is below
    assert found.false_positives == 0 and 10 <= found.threshold <= 11
    level = 0.05 / 2
    best = math.log(level ** (1 / 101) / (1 - level ** (1 / 151)))
    assert 0 < found.epsilon <= best + 1e-12


def test_no_positive_bound_is_zero():
    below = epsilon_lower_bound(np.zeros(50), np.ones(50), thresholds=[0.0, 0.5, 1.0])
    assert below.epsilon == 0.0
    assert epsilon_lower_bound(np.ones(50), np.zeros(50), thresholds=[0.5], delta=0.99).epsilon == 0


@pytest.mark.parametrize("thresholds", [None, np.linspace(-2, 2, 9)])
def test_identical_distributions_never_claim_privacy_loss_beyond_the_confidence(thresholds):
    # epsilon = 0 is the truth: a positive bound is a false claim, allowed in <= 5% of audits
    generator = np.random.default_rng(0)
    found = [
        epsilon_lower_bound(
            generator.standard_normal(200),
            generator.standard_normal(200),
            thresholds=thresholds,
            seed=trial,
        ).epsilon
        for trial in range(200)
    ]
    assert np.mean(np.array(found) > 0) <= 0.05
    assert max(found) < 0.5


def test_known_rates_bound_their_epsilon_from_below():
    # one threshold with TPR 0.6 and FPR 0.1: this test alone shows epsilon >= log 6
    generator = np.random.default_rng(1)
    truth = math.log(0.6 / 0.1)
    found = np.array(
        [
            epsilon_lower_bound(
                (generator.random(2000) < 0.6).astype(float),
                (generator.random(2000) < 0.1).astype(float),
                thresholds=[0.5],
            ).epsilon
            for _ in range(200)
        ]
    )
    assert np.mean(found > truth) <= 0.05  # a lower bound at 95% (each side at 97.5%)
    assert 1.4 < np.median(found) < truth  # and not a useless one


def test_audit_refuses_bad_input():
    with pytest.raises(ValueError, match="finite"):
        epsilon_lower_bound([np.nan, 1.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="confidence"):
        epsilon_lower_bound([1.0, 2.0], [0.0, 1.0], confidence=1.5)
    with pytest.raises(ValueError, match="2 canaries"):
        epsilon_lower_bound([1.0], [0.0, 1.0])
