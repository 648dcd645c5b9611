"""Statistics of paper 002: t-test directions, bootstrap intervals, ranking agreement, AUROC."""

import numpy as np
import pytest
from scipy import stats as scipy_stats

from mnemoscope.analysis import stats


@pytest.fixture
def shifted():
    rng = np.random.default_rng(0)
    return rng.normal(0.3, 1.0, 200), rng.normal(0.0, 1.0, 200)


def test_one_sided_directions(shifted):
    higher, lower = shifted
    greater = stats.ttest(higher, lower, alternative="greater")
    less = stats.ttest(higher, lower, alternative="less")
    assert greater.p_value < 0.05 < less.p_value
    assert greater.p_value + less.p_value == pytest.approx(1.0)
    assert greater.statistic > 0 and greater.effect_size > 0
    # the same data the other way round: the test rejects nothing
    assert stats.ttest(lower, higher, alternative="greater").p_value > 0.95
    two_sided = stats.ttest(higher, lower, alternative="two-sided")
    assert two_sided.p_value == pytest.approx(2 * greater.p_value)


def test_student_and_welch_match_scipy(shifted):
    a, b = shifted[0][:50], shifted[1]
    for equal_var in (True, False):
        ours = stats.ttest(a, b, alternative="greater", equal_var=equal_var)
        reference = scipy_stats.ttest_ind(a, b, equal_var=equal_var, alternative="greater")
        assert ours.statistic == pytest.approx(reference.statistic)
        assert ours.p_value == pytest.approx(reference.pvalue)
        assert (ours.n_a, ours.n_b) == (50, 200)


def test_cohens_d_on_known_samples():
    # means 2 and 1, both sample variances 1: pooled sd 1, d = 1
    result = stats.ttest([1.0, 2.0, 3.0], [0.0, 1.0, 2.0])
    assert result.effect_size == pytest.approx(1.0)
    assert result.difference == pytest.approx(1.0)
    # one sample against 0: d = mean / sd = 2 / 1
    one = stats.ttest([1.0, 2.0, 3.0], alternative="greater")
    assert one.effect_size == pytest.approx(2.0)
    assert one.n_b == 0


def test_one_sample_directions():
    rng = np.random.default_rng(1)
    negative = rng.normal(-0.5, 1.0, 100)
    assert stats.ttest(negative, alternative="less").p_value < 0.01
    assert stats.ttest(negative, alternative="greater").p_value > 0.99


def test_ttest_refuses_bad_input():
    with pytest.raises(ValueError, match="alternative='bigger'"):
        stats.ttest([1.0, 2.0], [0.0, 1.0], alternative="bigger")
    with pytest.raises(ValueError, match=">= 2 values"):
        stats.ttest([1.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="NaN"):
        stats.ttest([1.0, float("nan")], [0.0, 1.0])


def test_bootstrap_mean_interval_covers_the_mean_and_shrinks_with_n():
    rng = np.random.default_rng(2)
    small, large = rng.normal(1.0, 1.0, 30), rng.normal(1.0, 1.0, 3000)
    low, high = stats.bootstrap_mean_ci(small, n_resamples=500)
    assert low < small.mean() < high
    large_low, large_high = stats.bootstrap_mean_ci(large, n_resamples=500)
    assert large_high - large_low < (high - low) / 3
    assert stats.bootstrap_mean_ci([0.2, 0.2, 0.2]) == (pytest.approx(0.2), pytest.approx(0.2))


def test_bootstrap_over_seeds_resamples_each_side():
    f_means, g_means = np.array([0.30, 0.32, 0.31, 0.29]), np.array([0.40, 0.43, 0.41, 0.44])
    low, high = stats.bootstrap_difference_ci(f_means, g_means, n_resamples=1000)
    assert low < g_means.mean() - f_means.mean() < high
    assert low > 0  # every resample of g is above every resample of f
    assert np.isnan(stats.bootstrap_difference_ci([0.3], g_means)).all()


def test_kendall_tau_on_known_rankings():
    a = np.arange(30.0)
    tau, p_value = stats.kendall_tau(a, 2 * a + 1)
    assert tau == pytest.approx(1.0) and p_value < 1e-6
    tau, _ = stats.kendall_tau(a, -a)
    assert tau == pytest.approx(-1.0)
    # one discordant swap among 30 points: tau = 1 - 2 * 1 / C(30, 2)
    swapped = a.copy()
    swapped[[0, 1]] = swapped[[1, 0]]
    assert stats.kendall_tau(a, swapped)[0] == pytest.approx(1 - 2 / 435)


def test_top_k_overlap_on_known_rankings():
    a = np.arange(10.0)  # top 3: positions 9, 8, 7
    b = a.copy()
    b[9], b[0] = -1.0, 100.0  # b's top 3: positions 0, 8, 7
    assert stats.top_k_overlap(a, b, 3) == pytest.approx(2 / 3)
    assert stats.top_k_overlap(a, a, 3) == 1.0
    assert stats.top_k_overlap(a, -a, 5) == 0.0
    with pytest.raises(ValueError, match="k=11"):
        stats.top_k_overlap(a, b, 11)


def test_ranking_agreement_table():
    rng = np.random.default_rng(3)
    a = rng.normal(size=120)
    table = stats.ranking_agreement(a, a + 0.3 * rng.normal(size=120), ks=(10, 50, 200))
    assert list(table.columns) == ["k", "overlap", "tau", "p_value"]
    assert table["k"].tolist() == [10, 50, 120]  # 200 > n is skipped; the last row is all points
    assert table["tau"].iloc[-1] > 0.5 and table["p_value"].iloc[-1] < 1e-6
    unrelated = stats.ranking_agreement(a, rng.normal(size=120), ks=(50,))
    assert abs(unrelated["tau"].iloc[-1]) < 0.2


def test_auroc():
    scores = np.array([0.1, 0.2, 0.3, 0.8, 0.9])
    planted = np.array([False, False, False, True, True])
    assert stats.auroc(scores, planted) == 1.0
    assert stats.auroc(-scores, planted) == 0.0
    assert stats.auroc(np.zeros(5), planted) == 0.5
    with pytest.raises(ValueError, match="both positive and negative"):
        stats.auroc(scores, np.ones(5, dtype=bool))


def test_seed_interval_is_the_t_interval_and_says_which_side_of_a_margin_it_lies():
    from mnemoscope.analysis.stats import seed_interval

    values = [0.01, 0.03, 0.05]
    interval = seed_interval(values, 0.9)
    expected = scipy_stats.t.interval(0.9, 2, loc=0.03, scale=scipy_stats.sem(values))
    assert (interval.low, interval.high) == pytest.approx(expected)
    assert (interval.minimum, interval.maximum, interval.seeds) == (0.01, 0.05, 3)
    assert interval.side(-0.2) == "above" and interval.side(0.5) == "below"
    assert interval.side(0.03) == "straddles"
    point = seed_interval([0.2])
    assert point.low == point.high == 0.2 and point.side(0.2) == "below"
    with pytest.raises(ValueError, match="at least one seed"):
        seed_interval([])


def test_combine_p_values_is_stouffers_and_refuses_non_probabilities():
    from scipy.stats import combine_pvalues

    from mnemoscope.analysis.stats import combine_p_values

    assert combine_p_values([0.02, 0.3, 0.6]) == pytest.approx(
        combine_pvalues([0.02, 0.3, 0.6], method="stouffer").pvalue)  # fmt: skip
    assert 0 < combine_p_values([0.0, 1.0]) < 1  # clipped, not infinite
    with pytest.raises(ValueError, match="p_values"):
        combine_p_values([1.5])
