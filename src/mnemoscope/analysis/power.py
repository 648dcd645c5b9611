"""Minimum detectable effects (MDE): the smallest true effect a run detects with probability
``power`` (default 80%) by a one-sided test at level ``alpha`` (default 0.05), in the units
of the statistic (issue 24: "undecided" only when the run could have seen the effect).

t-tests, exact through the noncentral t (the test statistic under a true effect Delta is
noncentral t with df degrees of freedom and noncentrality lambda = Delta / se):

    find lambda* with  Pr[T'(df, lambda*) > t_{1 - alpha, df}] = power   (root finding),
    MDE = lambda* se.

* ``mde_mean``: one sample, paired differences, or a mean over study seeds: se = sd / sqrt(n),
  df = n - 1 (sd: the sample sd of the values, or of the pairs' differences).
* ``mde_seed_mean``: the same, at the level of ``stats.seed_interval``'s rule: its interval
  at ``confidence`` lies above a margin exactly when the one-sided t-test at
  alpha = (1 - confidence) / 2 rejects, so that is the alpha the power must be computed at.
* ``mde_two_sample``: Student (``equal_var``, pooled sd, df = n_a + n_b - 2; exact) or Welch
  (se = sqrt(sd_a^2 / n_a + sd_b^2 / n_b), Welch-Satterthwaite df; the Welch statistic is
  only approximately noncentral t, so this is the usual approximation).
* Rank correlations (normal approximation, the H0 variance, which is the larger: under an
  effect the variance shrinks, so the MDE is if anything conservative):
  Kendall's tau, var_0 = 2 (2n + 5) / (9 n (n - 1)); Spearman's rho, var_0 = 1 / (n - 1);
  MDE = (z_{1 - alpha} + z_{power}) sqrt(var_0).
* ``mde_difference``: a difference of two independent means each reported with a two-sided
  (bootstrap) interval at ``confidence``: se_i = (high_i - low_i) / (2 z_{(1 + confidence)/2}),
  MDE = (z_{1 - alpha} + z_{power}) sqrt(se_a^2 + se_b^2) (normal; symmetric intervals), the
  power of ``analysis.stats.difference_p``.
* ``mde_stouffer``: k independent one-sided tests combined by Stouffer's Z = sum z_i / sqrt k
  (``analysis.stats.combine_p_values``), test i with MDE m_i (so se_i = m_i / (z_{1 - alpha} +
  z_{power}), normal approximation): E[Z] = Delta sum(1 / se_i) / sqrt k reaches z_{1 - alpha} +
  z_{power} at MDE = sqrt(k) / sum(1 / m_i) (m / sqrt k for k equal tests).

``power_verdict``: the rule behind the label of a test that did not decide.
"""

from __future__ import annotations

import math
from typing import Literal

from scipy import optimize
from scipy import stats as scipy_stats

from mnemoscope.analysis.stats import interval_se

ALPHA, POWER = 0.05, 0.8


def _check(alpha: float, power: float) -> None:
    if not 0 < alpha < power < 1:
        raise ValueError(f"need 0 < alpha ({alpha!r}) < power ({power!r}) < 1")


def noncentrality(df: float, alpha: float = ALPHA, power: float = POWER) -> float:
    """lambda* of the module docstring: the noncentrality at which the one-sided t-test with
    ``df`` degrees of freedom at level ``alpha`` rejects with probability ``power``."""
    _check(alpha, power)
    if not df > 0:
        raise ValueError(f"df={df!r} must be positive")
    critical = scipy_stats.t.ppf(1 - alpha, df)

    def shortfall(nc: float) -> float:
        return scipy_stats.nct.sf(critical, df, nc) - power

    high = scipy_stats.norm.ppf(1 - alpha) + scipy_stats.norm.ppf(power) + 1.0
    while shortfall(high) < 0:  # the normal guess is low for small df: widen until bracketed
        high *= 2
    return float(optimize.brentq(shortfall, 0.0, high, xtol=1e-12, rtol=1e-12))


def mde_mean(sd: float, n: int, *, alpha: float = ALPHA, power: float = POWER) -> float:
    """MDE of a one-sample or paired t-test (or a mean over n study seeds) from the sd of the
    values (pairs: of the differences) and n; infinite for n < 2 (no test)."""
    if n < 2:
        return math.inf
    return noncentrality(n - 1, alpha, power) * sd / math.sqrt(n)


def mde_seed_mean(
    sd: float, seeds: int, *, confidence: float = 0.95, power: float = POWER
) -> float:
    """MDE of a mean over study seeds for ``stats.seed_interval(values, confidence)`` to lie
    above the margin: ``mde_mean`` at alpha = (1 - confidence) / 2."""
    return mde_mean(sd, seeds, alpha=(1 - confidence) / 2, power=power)


def mde_two_sample(
    sd_a: float,
    n_a: int,
    sd_b: float | None = None,
    n_b: int | None = None,
    *,
    equal_var: bool = True,
    alpha: float = ALPHA,
    power: float = POWER,
) -> float:
    """MDE of mean_a - mean_b by a two-sample t-test (Student with ``equal_var``, else Welch;
    ``sd_b`` / ``n_b`` default to side a's); infinite when a side has fewer than 2 values."""
    sd_b = sd_a if sd_b is None else sd_b
    n_b = n_a if n_b is None else n_b
    if n_a < 2 or n_b < 2:
        return math.inf
    if equal_var:
        pooled = math.sqrt(((n_a - 1) * sd_a**2 + (n_b - 1) * sd_b**2) / (n_a + n_b - 2))
        se, df = pooled * math.sqrt(1 / n_a + 1 / n_b), n_a + n_b - 2
    else:
        share_a, share_b = sd_a**2 / n_a, sd_b**2 / n_b
        se = math.sqrt(share_a + share_b)
        if se == 0:
            return 0.0
        df = (share_a + share_b) ** 2 / (share_a**2 / (n_a - 1) + share_b**2 / (n_b - 1))
    return noncentrality(df, alpha, power) * se


def _normal_mde(se: float, alpha: float, power: float) -> float:
    _check(alpha, power)
    return (scipy_stats.norm.ppf(1 - alpha) + scipy_stats.norm.ppf(power)) * se


def mde_kendall(n: int, *, alpha: float = ALPHA, power: float = POWER) -> float:
    """MDE of Kendall's tau over n items (H0 variance 2 (2n + 5) / (9 n (n - 1)))."""
    if n < 2:
        return math.inf
    return _normal_mde(math.sqrt(2 * (2 * n + 5) / (9 * n * (n - 1))), alpha, power)


def mde_spearman(n: int, *, alpha: float = ALPHA, power: float = POWER) -> float:
    """MDE of Spearman's rho over n items (H0 variance 1 / (n - 1))."""
    if n < 2:
        return math.inf
    return _normal_mde(math.sqrt(1 / (n - 1)), alpha, power)


def mde_difference(
    interval_a: tuple[float, float],
    interval_b: tuple[float, float],
    *,
    confidence: float = 0.95,
    alpha: float = ALPHA,
    power: float = POWER,
) -> float:
    """MDE of mean_a - mean_b from each mean's two-sided interval at ``confidence``."""
    se_a, se_b = (interval_se(interval, confidence) for interval in (interval_a, interval_b))
    return _normal_mde(math.hypot(se_a, se_b), alpha, power)


def mde_stouffer(mdes: list[float]) -> float:
    """MDE of Stouffer's combination of independent one-sided tests whose own MDEs (same alpha
    and power, same units) are ``mdes`` (module docstring); infinite when none has power."""
    if not mdes:
        raise ValueError("no tests to combine")
    if any(math.isnan(m) or m < 0 for m in mdes):
        raise ValueError(f"MDEs must be non-negative numbers, got {mdes}")
    if any(m == 0 for m in mdes):
        return 0.0
    precision = sum(1 / m for m in mdes)  # 1 / inf = 0: a test without power adds nothing
    return math.inf if precision == 0 else math.sqrt(len(mdes)) / precision


def power_verdict(mde: float, paper_effect: float) -> Literal["undecided", "underpowered"]:
    """The label of a test that did not decide. "underpowered" when the run could not have
    seen the paper's effect: its MDE (same units) exceeds |paper_effect| (or is NaN, power
    unknown); "undecided" when it could have (MDE <= |paper_effect|) and still did not, which
    is itself evidence against an effect of the paper's size."""
    if math.isnan(paper_effect):
        raise ValueError("the paper's effect is NaN: nothing to compare the MDE with")
    return "undecided" if mde <= abs(paper_effect) else "underpowered"
