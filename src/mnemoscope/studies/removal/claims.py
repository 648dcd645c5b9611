"""Paper 002's claims that memorized images matter downstream (section 4.4, fig. 3; appendix
D.5, table 17), read from the removal study's summary (``analysis.claims``)."""

from __future__ import annotations

from mnemoscope.analysis.claims import ALPHA, Claim, Measured, NotMeasured, finite, one_sided
from mnemoscope.studies.removal.summary import PairedTest, RemovalSummary


def _pooled(rows: list[PairedTest] | None, experiment: str) -> PairedTest | NotMeasured:
    if rows is None:
        return NotMeasured(f"{experiment}.ks is empty: no {experiment} retrainings")
    row = next((r for r in rows if r.k == "all" and r.downstream == "all"), None)
    if row is None or not finite(row.difference):
        return NotMeasured(f"no top-k and random-k {experiment} pairs to compare")
    return row


def _removal_claim(rows: list[PairedTest] | None, experiment: str,
                   paper_sign: int) -> Measured | NotMeasured:  # fmt: skip
    """The pooled paired test of top-k against random-k (``studies.removal.tables``): top -
    random accuracy over (k, seed, downstream) pairs, two-sided ``ttest_rel``. The paper's
    direction is top below random for removal (``paper_sign`` -1) and above for coresets (+1);
    reproduced / opposite when p < 0.05 in that / the other direction, undecided otherwise. The
    pooled pairs share seeds, so the p-value is optimistic (the per-k rows are in the table)."""
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
    value = (f"top-k {100 * row.mean_top:.1f}% vs random-k {100 * row.mean_random:.1f}% "
             f"({100 * row.difference:+.2f} points over {row.pairs} pairs, p = "
             f"{p_two if p_two is not None else float('nan'):.2g})")  # fmt: skip
    return Measured(value, verdict, None, effect, p_value)


def removal_hurts(summary: RemovalSummary) -> Measured | NotMeasured:
    """Removing the top-k memorized candidates costs more accuracy than removing k random ones."""
    return _removal_claim(summary.removal, "removal", -1)


def coreset_of_memorized(summary: RemovalSummary) -> Measured | NotMeasured:
    """A coreset of the top-k memorized candidates trains better than k random ones."""
    return _removal_claim(summary.coreset, "coreset", +1)


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
