"""Paper 002's table 4 claim (section 4.5): Déjà Vu memorization (Meehan et al. 2023), read
from the Déjà Vu study's summary (``analysis.claims``).

The paper's effect, ``PAPER_GAP``: table 4's smallest Déjà Vu rate, 20.08% (DINO on ImageNet;
on CIFAR10 MAE 27.36%, DINO 25.52%, VICReg 25.20%). The paper calls the rate "the fraction of
data points classified as memorized"; if that is Meehan et al.'s memorized group rather than
the gap of accuracies (``measure.dejavu`` gives both), the paper's gap is smaller by the
misrepresented fraction, which the paper does not report.
"""

from __future__ import annotations

import math

from mnemoscope.analysis.claims import ALPHA, Claim, Measured, NotMeasured, finite, settle
from mnemoscope.analysis.power import POWER, mde_mean
from mnemoscope.studies.dejavu.summary import DejaVuSummary, MethodRow

PAPER_GAP = 0.2008  # table 4, DINO on ImageNet: the smallest rate (module docstring)


def _mde(rows: list[MethodRow]) -> float:
    """The gap every method's t-test detects at once with 80% probability: each method's test
    (independent trainings) at power 0.8^(1/m), the largest of their MDEs."""
    each = POWER ** (1 / len(rows))
    return max(math.inf if row.seeds < 2 or not finite(row.dejavu_seed_std)
               else mde_mean(row.dejavu_seed_std, row.seeds, power=each)
               for row in rows)  # fmt: skip


def dejavu_memorized(summary: DejaVuSummary) -> Measured | NotMeasured:
    """Per method, A's label-inference accuracy from the periphery minus B's (the Déjà Vu gap)
    with its one-sided t-test over seeds: reproduced when every method's gap is above 0 at the
    5% level, opposite when every gap is negative at that level; otherwise undecided, or
    underpowered when the gap all methods' tests detect (``_mde``) exceeds the paper's smallest
    rate, ``PAPER_GAP`` (20.08%, table 4; module docstring)."""
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
    mde = _mde(rows)
    return Measured(value, settle(verdict, mde, PAPER_GAP), None, min(row.dejavu for row in rows),
                    p_value, mde=mde, paper_effect=PAPER_GAP)  # fmt: skip


CLAIMS = (
    Claim("002", "sec. 4.5, table 4",
          "SSL encoders have Déjà Vu memorization (Meehan et al.): from the periphery of its "
          "training images, A guesses their labels better than B, which never saw them",
          "Déjà Vu memorization", "least Déjà Vu gap over methods", dejavu_memorized),
)  # fmt: skip
