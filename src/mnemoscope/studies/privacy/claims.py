"""Paper 002's table 5 claims (section 4.6), read from the privacy study's summary.

The paper's effect on SSLMem (``paper_sslmem_drop``), in normalized SSLMem on the candidates:
table 5 (MAE on ViT-tiny, CIFAR10) gives 0.307 without DP, 0.182 at epsilon 20 and 0.107 at
epsilon 8, so drops of 0.125 and 0.200. A smaller epsilon lowers SSLMem at least as much, so a
run whose smallest epsilon is at most 8 is held to 0.200 and one at most 20 to 0.125; above 20
the paper gives no number and the power stays unjudged.
"""

from __future__ import annotations

from mnemoscope.analysis.claims import KNN_MARGIN, Claim, Measured, NotMeasured, settle, signed
from mnemoscope.analysis.power import mde_intervals_apart
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
    """SSLMem on S_C at the smallest epsilon against no DP: a difference counts when the two
    bootstrap intervals (over the candidates) do not overlap. Otherwise undecided, or
    underpowered when the drop at which the intervals come apart with 80% probability
    (``power.mde_intervals_apart``) exceeds table 5's drop at that epsilon (0.200 at epsilon 8,
    0.125 at 20: ``paper_sslmem_drop``)."""
    rows = _rows(summary)
    if isinstance(rows, NotMeasured):
        return rows
    base, tight = rows
    apart_below = tight.sslmem_ci_high < base.sslmem_ci_low
    apart_above = tight.sslmem_ci_low > base.sslmem_ci_high
    verdict = "reproduced" if apart_below else "opposite" if apart_above else "undecided"
    value = (f"SSLMem {tight.sslmem_mean:+.3f} at epsilon {tight.epsilon_target:g} vs "
             f"{base.sslmem_mean:+.3f} without DP")  # fmt: skip
    interval = f"[{tight.sslmem_ci_low:+.3f}, {tight.sslmem_ci_high:+.3f}]"
    if base.confidence != tight.confidence:
        raise ValueError(f"the two rows' intervals differ in level: {base.confidence} and "
                         f"{tight.confidence}")  # fmt: skip
    mde = mde_intervals_apart((base.sslmem_ci_low, base.sslmem_ci_high),
                              (tight.sslmem_ci_low, tight.sslmem_ci_high),
                              confidence=base.confidence)  # fmt: skip
    paper = paper_sslmem_drop(tight.epsilon_target)
    return Measured(value, settle(verdict, mde, paper), interval,
                    base.sslmem_mean - tight.sslmem_mean, mde=mde, paper_effect=paper)  # fmt: skip


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
