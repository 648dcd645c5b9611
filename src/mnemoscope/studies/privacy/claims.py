"""Paper 002's table 5 claims (section 4.6), read from the privacy study's summary.

The paper's effect on SSLMem (``paper_sslmem_drop``), in normalized SSLMem on the candidates:
table 5 (MAE on ViT-tiny, CIFAR10) gives 0.307 without DP, 0.182 at epsilon 20 and 0.107 at
epsilon 8, so drops of 0.125 and 0.200. A smaller epsilon lowers SSLMem at least as much, so a
run whose smallest epsilon is at most 8 is held to 0.200 and one at most 20 to 0.125; above 20
the paper gives no number and the power stays unjudged.
"""

from __future__ import annotations

from mnemoscope.analysis.claims import (
    KNN_MARGIN,
    Claim,
    Measured,
    NotMeasured,
    settle,
    signed,
    verdict_from_p,
)
from mnemoscope.analysis.power import mde_difference
from mnemoscope.analysis.stats import difference_p
from mnemoscope.studies.privacy.summary import PrivacyRow, PrivacySummary

# table 5: epsilon -> SSLMem without DP (0.307) minus SSLMem at that epsilon
PAPER_SSLMEM_DROP = {8.0: 0.307 - 0.107, 20.0: 0.307 - 0.182}


def paper_sslmem_drop(epsilon: float) -> float | None:
    """Table 5's drop in SSLMem at the paper's epsilon nearest above ``epsilon`` (a lower bound
    of the drop at ``epsilon``), ``None`` above the paper's largest epsilon (module docstring)."""
    known = [e for e in sorted(PAPER_SSLMEM_DROP) if epsilon <= e]
    return PAPER_SSLMEM_DROP[known[0]] if known else None


def _rows(summary: PrivacySummary) -> tuple[PrivacyRow, PrivacyRow] | NotMeasured:
    """The epsilon = infinity row and the smallest epsilon's."""
    if len(summary.privacy) < 2:
        return NotMeasured("epsilons is empty: no DP-SGD training to compare")
    return summary.privacy[0], summary.privacy[-1]


def privacy_lowers_memorization(summary: PrivacySummary) -> Measured | NotMeasured:
    """SSLMem on S_C without DP minus at the smallest epsilon (the drop), tested one-sided from
    the two rows' bootstrap intervals over the candidates (``stats.difference_p``, conservative:
    both rows score the same candidates): reproduced at p < 0.05, opposite at p > 0.95.
    Otherwise not at this scale when the run without DP-SGD memorizes nothing SSLMem detects
    (its interval reaches 0: there is no memorization for DP-SGD to lower, and no power figure
    can make that a finding), else undecided, or underpowered when the test's minimum detectable
    drop (``power.mde_difference``) exceeds table 5's drop at that epsilon (0.200 at epsilon 8,
    0.125 at 20: ``paper_sslmem_drop``)."""
    rows = _rows(summary)
    if isinstance(rows, NotMeasured):
        return rows
    base, tight = rows
    if base.confidence != tight.confidence:
        raise ValueError(f"the two rows' intervals differ in level: {base.confidence} and "
                         f"{tight.confidence}")  # fmt: skip
    intervals = [(row.sslmem_ci_low, row.sslmem_ci_high) for row in (base, tight)]
    p = difference_p(base.sslmem_mean, intervals[0], tight.sslmem_mean, intervals[1],
                     base.confidence)  # fmt: skip
    verdict = verdict_from_p(p)
    value = (f"SSLMem {tight.sslmem_mean:+.3f} at epsilon {tight.epsilon_target:g} vs "
             f"{base.sslmem_mean:+.3f} without DP (one-sided p = {p:.2g})")  # fmt: skip
    if verdict == "undecided" and base.sslmem_ci_low <= 0:
        verdict = "not at this scale"
        value += (f"; no memorization without DP: [{base.sslmem_ci_low:+.3f}, "
                  f"{base.sslmem_ci_high:+.3f}]")  # fmt: skip
    interval = f"[{tight.sslmem_ci_low:+.3f}, {tight.sslmem_ci_high:+.3f}]"
    mde = mde_difference(*intervals, confidence=base.confidence)
    paper = paper_sslmem_drop(tight.epsilon_target)
    drop = base.sslmem_mean - tight.sslmem_mean
    return Measured(value, settle(verdict, mde, paper), interval, drop, p, mde=mde,
                    paper_effect=paper)  # fmt: skip


def privacy_lowers_accuracy(summary: PrivacySummary) -> Measured | NotMeasured:
    """Probe accuracy at the smallest epsilon against no DP, beyond two points either way."""
    rows = _rows(summary)
    if isinstance(rows, NotMeasured):
        return rows
    base, tight = rows
    change = tight.probe_accuracy - base.probe_accuracy
    value = (f"probe accuracy {tight.probe_accuracy:.1%} at epsilon {tight.epsilon_target:g} vs "
             f"{base.probe_accuracy:.1%}")  # fmt: skip
    return Measured(value, signed(-change, KNN_MARGIN), None, -change)


CLAIMS = (
    Claim("002", "sec. 4.6, table 5",
          "Training with differential privacy (DP-SGD) lowers memorization",
          "DP lowers memorization", "SSLMem on S_C without DP - at the smallest epsilon",
          privacy_lowers_memorization),
    Claim("002", "sec. 4.6, table 5", "... and lowers downstream accuracy with it",
          "DP lowers accuracy", "probe accuracy without DP - at the smallest epsilon",
          privacy_lowers_accuracy),
)  # fmt: skip
