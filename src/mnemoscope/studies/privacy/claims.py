"""Paper 002's table 5 claims (section 4.6), read from the privacy study's summary."""

from __future__ import annotations

from mnemoscope.analysis.claims import KNN_MARGIN, Claim, Measured, NotMeasured, signed
from mnemoscope.studies.privacy.summary import PrivacyRow, PrivacySummary


def _rows(summary: PrivacySummary) -> tuple[PrivacyRow, PrivacyRow] | NotMeasured:
    """The epsilon = infinity row and the smallest epsilon's."""
    if len(summary.privacy) < 2:
        return NotMeasured("epsilons is empty: no DP-SGD training to compare")
    return summary.privacy[0], summary.privacy[-1]


def privacy_lowers_memorization(summary: PrivacySummary) -> Measured | NotMeasured:
    """SSLMem on S_C at the smallest epsilon against no DP: a difference counts when the two
    bootstrap intervals (over the candidates) do not overlap."""
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
    return Measured(value, verdict, interval, base.sslmem_mean - tight.sslmem_mean)


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
