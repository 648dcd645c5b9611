"""Paper 002's table 4 claim (section 4.5): Déjà Vu memorization (Meehan et al. 2023), read
from the Déjà Vu study's summary (``analysis.claims``)."""

from __future__ import annotations

from mnemoscope.analysis.claims import ALPHA, Claim, Measured, NotMeasured, finite
from mnemoscope.studies.dejavu.summary import DejaVuSummary


def dejavu_memorized(summary: DejaVuSummary) -> Measured | NotMeasured:
    """Per method, A's label-inference accuracy from the periphery minus B's (the Déjà Vu gap)
    with its one-sided t-test over seeds: reproduced when every method's gap is above 0 at the
    5% level, opposite when every gap is negative at that level, undecided otherwise."""
    rows = summary.table4
    if not rows:
        return NotMeasured("methods is empty")
    value = "Déjà Vu gap " + ", ".join(f"{row.method} {100 * row.dejavu:+.1f}%" for row in rows)
    gaps = [(row.dejavu, row.dejavu_p if finite(row.dejavu_p) else None) for row in rows]
    if all(p is not None and p < ALPHA and gap > 0 for gap, p in gaps):
        verdict = "reproduced"
    elif all(p is not None and p > 1 - ALPHA and gap < 0 for gap, p in gaps):
        verdict = "opposite"
    else:
        verdict = "undecided"
    # Every gap must be positive: its intersection-union test is the largest one-sided p, and
    # the effect that must clear 0 is the smallest gap.
    p_values = [p for _, p in gaps]
    p_value = max(p_values) if all(p is not None for p in p_values) else None
    return Measured(value, verdict, None, min(row.dejavu for row in rows), p_value)


CLAIMS = (
    Claim("002", "sec. 4.5, table 4",
          "SSL encoders have Déjà Vu memorization (Meehan et al.): from the periphery of its "
          "training images, A guesses their labels better than B, which never saw them",
          "Déjà Vu memorization", "least Déjà Vu gap over methods", dejavu_memorized),
)  # fmt: skip
