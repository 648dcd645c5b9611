"""Paper 002's claims that memorized images matter downstream (section 4.4, fig. 3; appendix
D.5, table 17), read from the removal study's summary (``analysis.claims``).

The paper's effects, in accuracy (``analysis.claims``: the MDE is compared with them):

* ``REMOVAL_EFFECT``, random-k - top-k removed: fig. 3 draws its curves without printing their
  values, so this is the smallest gap the paper prints for the same protocol (linear probe of an
  MAE encoder pre-trained without the removed images): table 14 (app. B.5; ViT-base on ImageNet,
  10k removed), Food-101 56.83% (random) - 55.15% (memorized) = 1.68 points (ImageNet 2.49,
  Flower102 1.81; 3.07 to 3.98 at 20k). Tables 3 and 10 (0.5 to 1.1 points) probe encoders
  after end-to-end fine-tuning on another task, a different protocol.
* ``CORESET_EFFECT``, top-k - random-k kept: table 17 (app. D.5; SimCLR, ResNet50, CIFAR10,
  25k images) has no random-k row; it gives the most memorized 24k and 22k (the rows it bolds)
  against the full 25k encoder: +1.1, +0.2, +0.1 (24k) and +0.5, +0.7, +0.8 (22k) points on
  CIFAR10, CIFAR100 and STL10, mean +0.57 points. A random subset does no better than the full
  set, so the paper's top-k - random-k is at least this.
"""

from __future__ import annotations

import math

from mnemoscope.analysis.claims import (
    ALPHA,
    Claim,
    Measured,
    NotMeasured,
    finite,
    one_sided,
    settle,
)
from mnemoscope.studies.removal.summary import PairedTest, RemovalSummary

REMOVAL_EFFECT = 0.0168  # table 14, Food-101, 10k removed (module docstring)
CORESET_EFFECT = 0.0057  # table 17, mean gain of the 24k and 22k coresets (module docstring)


def _pooled(rows: list[PairedTest] | None, experiment: str) -> PairedTest | NotMeasured:
    if rows is None:
        return NotMeasured(f"{experiment}.ks is empty: no {experiment} retrainings")
    row = next((r for r in rows if r.k == "all" and r.downstream == "all"), None)
    if row is None or not finite(row.difference):
        return NotMeasured(f"no top-k and random-k {experiment} pairs to compare")
    return row


def _removal_claim(rows: list[PairedTest] | None, experiment: str, paper_sign: int,
                   paper_effect: float) -> Measured | NotMeasured:  # fmt: skip
    """The pooled paired test of top-k against random-k (``studies.removal.tables``): top -
    random accuracy over (k, seed, downstream) pairs, two-sided ``ttest_rel``. The paper's
    direction is top below random for removal (``paper_sign`` -1) and above for coresets (+1);
    reproduced / opposite when p < 0.05 in that / the other direction; otherwise undecided, or
    underpowered when the row's minimum detectable effect (two-sided test: the one-sided MDE is
    slightly optimistic) exceeds ``paper_effect``. The pooled pairs share seeds, so the p-value
    is optimistic (the per-k rows are in the table)."""
    row = _pooled(rows, experiment)
    if isinstance(row, NotMeasured):
        return row
    effect = paper_sign * row.difference
    p_two = row.p_value if finite(row.p_value) else None
    p_value = None if p_two is None else one_sided(effect, p_two)
    if p_two is None or p_two >= ALPHA or effect == 0:
        verdict = "undecided"
    else:
        verdict = "reproduced" if effect > 0 else "opposite"
    # null in the summary: infinite below two pairs, unknown for a run without the column
    mde = row.mde if finite(row.mde) else math.inf if row.pairs < 2 else None
    value = (f"top-k {100 * row.mean_top:.1f}% vs random-k {100 * row.mean_random:.1f}% "
             f"({100 * row.difference:+.2f} points over {row.pairs} pairs, p = "
             f"{p_two if p_two is not None else float('nan'):.2g})")  # fmt: skip
    return Measured(value, settle(verdict, mde, paper_effect), None, effect, p_value, mde=mde,
                    paper_effect=paper_effect)  # fmt: skip


def removal_hurts(summary: RemovalSummary) -> Measured | NotMeasured:
    """Removing the top-k memorized candidates costs more accuracy than removing k random ones;
    the paper's effect is ``REMOVAL_EFFECT``, 1.68 points (table 14's smallest gap: fig. 3
    prints no values; module docstring)."""
    return _removal_claim(summary.removal, "removal", -1, REMOVAL_EFFECT)


def coreset_of_memorized(summary: RemovalSummary) -> Measured | NotMeasured:
    """A coreset of the top-k memorized candidates trains better than k random ones; the
    paper's effect is ``CORESET_EFFECT``, 0.57 points (table 17's gain of its 24k and 22k
    coresets over the full set, a lower bound of top-k - random-k; module docstring)."""
    return _removal_claim(summary.coreset, "coreset", +1, CORESET_EFFECT)


CLAIMS = (
    Claim("002", "sec. 4.4, fig. 3",
          "Memorized images matter: removing the most memorized training images lowers "
          "downstream accuracy more than removing as many random ones",
          "removing memorized images hurts", "random-k - top-k removed, accuracy", removal_hurts),
    Claim("002", "app. D.5, table 17",
          "Training on only the most memorized images works well: such a coreset trains better "
          "encoders than as many random images (the paper compares it with the full set)",
          "coreset of memorized images", "top-k - random-k kept, accuracy",
          coreset_of_memorized),
)  # fmt: skip
