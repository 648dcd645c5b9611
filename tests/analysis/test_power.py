"""Minimum detectable effects at 80% power against statsmodels, closed forms and simulation."""

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats
from statsmodels.stats.power import TTestIndPower, TTestPower

from mnemoscope.analysis import power
from mnemoscope.analysis.stats import difference_p, seed_interval

Z_SUM = 1.6448536269514722 + 0.8416212335729143  # z_{0.95} + z_{0.80}


@pytest.mark.parametrize("n", [3, 5, 10, 30, 200])
def test_one_sample_and_paired_mde_is_statsmodels(n):
    d = TTestPower().solve_power(nobs=n, alpha=0.05, power=0.8, alternative="larger")
    effect = power.mde_mean(2.5, n)
    assert effect == pytest.approx(d * 2.5, rel=1e-4)  # statsmodels' solver stops at ~1e-6
    # statsmodels' power at our MDE: 80% to the root finder's precision
    reached = TTestPower().power(effect_size=effect / 2.5, nobs=n, alpha=0.05, alternative="larger")
    assert reached == pytest.approx(0.8, abs=1e-9)


@pytest.mark.parametrize(("n_a", "n_b"), [(5, 5), (10, 30), (200, 50)])
def test_student_two_sample_mde_is_statsmodels(n_a, n_b):
    d = TTestIndPower().solve_power(
        nobs1=n_a, ratio=n_b / n_a, alpha=0.05, power=0.8, alternative="larger"
    )
    sd_a, sd_b = 1.0, 2.0
    pooled = math.sqrt(((n_a - 1) * sd_a**2 + (n_b - 1) * sd_b**2) / (n_a + n_b - 2))
    effect = power.mde_two_sample(sd_a, n_a, sd_b, n_b)
    assert effect == pytest.approx(d * pooled, rel=1e-4)
    reached = TTestIndPower().power(
        effect_size=effect / pooled, nobs1=n_a, ratio=n_b / n_a, alpha=0.05, alternative="larger"
    )
    assert reached == pytest.approx(0.8, abs=1e-9)


def test_welch_mde_reaches_80_percent_power_in_simulation():
    sd_a, n_a, sd_b, n_b = 1.0, 8, 3.0, 20
    effect = power.mde_two_sample(sd_a, n_a, sd_b, n_b, equal_var=False)
    generator = np.random.default_rng(0)
    a = generator.normal(effect, sd_a, (4000, n_a))
    b = generator.normal(0.0, sd_b, (4000, n_b))
    result = scipy_stats.ttest_ind(a, b, axis=1, equal_var=False, alternative="greater")
    assert np.mean(result.pvalue < 0.05) == pytest.approx(0.8, abs=0.03)
    # equal sizes and sds: Welch's df and se are Student's
    assert power.mde_two_sample(1.5, 12, equal_var=False) == pytest.approx(
        power.mde_two_sample(1.5, 12)
    )


def test_seed_mean_mde_is_the_power_of_the_seed_interval_rule():
    # seed_interval(values).side(0) == "above" for 80% of runs at the MDE
    sd, seeds = 0.02, 5
    effect = power.mde_seed_mean(sd, seeds)
    assert effect == pytest.approx(power.mde_mean(sd, seeds, alpha=0.025))
    generator = np.random.default_rng(1)
    above = [
        seed_interval(generator.normal(effect, sd, seeds)).side(0.0) == "above" for _ in range(3000)
    ]
    assert np.mean(above) == pytest.approx(0.8, abs=0.03)


def test_rank_correlation_mde_is_the_closed_form():
    n = 50
    assert power.mde_kendall(n) == pytest.approx(
        Z_SUM * math.sqrt(2 * (2 * n + 5) / (9 * n * (n - 1)))
    )
    assert power.mde_spearman(n) == pytest.approx(Z_SUM / math.sqrt(n - 1))
    # and the H0 variance behind it is Kendall's tau's (simulated independent rankings)
    generator = np.random.default_rng(2)
    taus = [
        scipy_stats.kendalltau(*generator.standard_normal((2, 20))).statistic for _ in range(2000)
    ]
    assert np.var(taus) == pytest.approx(2 * (2 * 20 + 5) / (9 * 20 * 19), rel=0.08)


def test_normal_limits_and_degenerate_sizes():
    # a huge sample: the noncentral t is the normal, lambda* = z_{1-alpha} + z_power
    assert power.noncentrality(1e7) == pytest.approx(Z_SUM, rel=1e-4)
    # few degrees of freedom need a larger noncentrality
    assert power.noncentrality(2) > power.noncentrality(20) > Z_SUM
    assert power.mde_mean(1.0, 1) == math.inf
    assert power.mde_two_sample(1.0, 1, 1.0, 5) == math.inf
    assert power.mde_kendall(1) == math.inf
    # two 95% intervals of half-width 1.96: standard errors 1, difference se sqrt 2
    assert power.mde_difference((-1.96, 1.96), (0.04, 3.96)) == pytest.approx(
        Z_SUM * math.sqrt(2), rel=1e-3
    )
    with pytest.raises(ValueError, match="alpha"):
        power.mde_mean(1.0, 10, alpha=0.9)


def test_power_verdict():
    assert power.power_verdict(0.05, 0.1) == "undecided"  # could have seen it: did not
    assert power.power_verdict(0.05, -0.1) == "undecided"  # the sign is the test's business
    assert power.power_verdict(0.2, 0.1) == "underpowered"
    assert power.power_verdict(math.inf, 0.1) == "underpowered"
    assert power.power_verdict(math.nan, 0.1) == "underpowered"
    with pytest.raises(ValueError, match="NaN"):
        power.power_verdict(0.1, math.nan)


def test_difference_mde_is_the_power_of_the_difference_test_in_simulation():
    # two means with standard errors 1 and 2, each reported as a 95% interval mean +- 1.96 se
    se_a, se_b, z = 1.0, 2.0, 1.959963984540054
    effect = power.mde_difference((-z * se_a, z * se_a), (-z * se_b, z * se_b))
    assert effect == pytest.approx((1.6448536 + 0.8416212) * math.hypot(se_a, se_b))
    generator = np.random.default_rng(3)
    a = generator.normal(effect, se_a, 4000)
    b = generator.normal(0.0, se_b, 4000)
    p = [difference_p(x, (x - z * se_a, x + z * se_a), y, (y - z * se_b, y + z * se_b))
         for x, y in zip(a, b, strict=True)]  # fmt: skip
    assert np.mean(np.array(p) < 0.05) == pytest.approx(0.8, abs=0.02)
    # the p-value is the normal tail of the difference over its standard error
    assert difference_p(3.0, (2.0, 4.0), 1.0, (0.0, 2.0)) == pytest.approx(
        scipy_stats.norm.sf(2.0 / math.hypot(1 / z, 1 / z)))  # fmt: skip
    assert difference_p(1.0, (1.0, 1.0), 0.0, (0.0, 0.0)) == 0.0  # no spread: the sign decides


def test_stouffer_mde_is_the_closed_form_and_reaches_80_percent_power():
    assert power.mde_stouffer([0.3, 0.3, 0.3, 0.3]) == pytest.approx(0.15)  # m / sqrt(k)
    assert power.mde_stouffer([0.2, math.inf]) == pytest.approx(math.sqrt(2) * 0.2)
    assert power.mde_stouffer([math.inf]) == math.inf
    with pytest.raises(ValueError, match="no tests"):
        power.mde_stouffer([])
    # simulated: k one-sided z-tests with standard errors se_i, MDE_i = Z_SUM se_i
    ses = np.array([0.1, 0.2, 0.4])
    effect = power.mde_stouffer(list(Z_SUM * ses))
    generator = np.random.default_rng(4)
    z = generator.normal(effect / ses, 1.0, (20000, 3))
    combined = z.sum(axis=1) / math.sqrt(3)
    assert np.mean(combined > 1.6448536269514722) == pytest.approx(0.8, abs=0.01)
