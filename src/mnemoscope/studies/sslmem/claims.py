"""Paper 002's headline claims read from the SSLMem study's summary (``analysis.claims``).

The paper's effect for SSLMem against Feldman, ``FELDMAN_TAU``: table 12 (app. B.3; ResNet50
on CIFAR10, 5k candidates) gives Kendall's tau within the 10 to 200 points SSLMem ranks highest,
0.099 to 0.192; the largest set, 200 points, gives 0.192 (p = 5.5e-4), the value closest to a
tau over all candidates, which this study's claim tests.
"""

from __future__ import annotations

from scipy.stats import spearmanr

from mnemoscope.analysis.claims import (
    ALPHA,
    AUROC_MARGIN,
    Claim,
    Measured,
    NotMeasured,
    finite,
    one_sided,
    settle,
    signed,
    verdict_from_p,
)
from mnemoscope.analysis.power import mde_kendall
from mnemoscope.studies.sslmem.summary import SSLMemSummary

FELDMAN_TAU = 0.192  # table 12, within the 200 most memorized points (module docstring)


def candidates_memorized(summary: SSLMemSummary) -> Measured | NotMeasured:
    """The one-sided t-test of m(S_C) > m(S_S) at the headline center (table 2): p < 0.05 is
    reproduced, p > 0.95 (significant the other way) opposite."""
    test = summary.ttest_candidates_vs_shared.get(summary.center)
    if test is None or not finite(test.p_value):
        return NotMeasured(f"no t-test of m(S_C) > m(S_S) at center {summary.center!r} (a "
                           "constant score has none)")  # fmt: skip
    value = f"t = {test.statistic:.2f}, p = {test.p_value:.2g}, Cohen's d = {test.effect_size:.2f}"
    means = summary.mean_score.get(summary.center, {})
    if finite(means.get("S_C")) and finite(means.get("S_S")):
        value += f"; mean score S_C {means['S_C']:+.3f}, S_S {means['S_S']:+.3f}"
    value += f" ({summary.center}, tap {summary.tap})"
    return Measured(value, verdict_from_p(test.p_value), None, test.effect_size, test.p_value)


def planted_found(summary: SSLMemSummary) -> Measured | NotMeasured:
    """AUROC of planted atypical images against ordinary candidates: every kind above
    0.5 + 0.1 is reproduced, every kind below 0.5 - 0.1 opposite."""
    aurocs = {kind: v for kind, v in summary.planted_auroc.items() if finite(v)}
    if not aurocs:
        return NotMeasured("planted.kinds is empty: no planted images to find")
    value = "AUROC " + ", ".join(f"{kind.replace('_', ' ')} {v:.2f}" for kind, v in aurocs.items())
    verdicts = {signed(v - 0.5, AUROC_MARGIN) for v in aurocs.values()}
    verdict = verdicts.pop() if len(verdicts) == 1 else "undecided"
    return Measured(value + " (0.5 = chance)", verdict, None, min(aurocs.values()) - 0.5)


def memorization_goes_with_accuracy(summary: SSLMemSummary) -> Measured | NotMeasured:
    """Spearman's rho across trainings (methods and lambdas of ``compare``) between SSLMem on
    S_C and probe accuracy: positive at p < 0.05; needs at least three trainings."""
    rows = [(row.score_norm_mean, row.probe_accuracy) for row in summary.methods
            if finite(row.score_norm_mean) and finite(row.probe_accuracy)]  # fmt: skip
    if len(rows) < 3:
        return NotMeasured(f"needs three trainings or more (compare.variants, compare.lambdas); "
                           f"this run scored {len(rows)}")  # fmt: skip
    rho, p = spearmanr([s for s, _ in rows], [a for _, a in rows])
    rho, p = float(rho), float(p)
    if not finite(rho):
        return Measured(f"{len(rows)} trainings, constant scores or accuracies", "undecided")
    verdict = "undecided" if p >= ALPHA else "reproduced" if rho > 0 else "opposite"
    return Measured(f"Spearman rho {rho:+.2f} over {len(rows)} trainings (p = {p:.2g})", verdict,
                    None, rho, one_sided(rho, p))  # fmt: skip


def feldman_agrees(summary: SSLMemSummary) -> Measured | NotMeasured:
    """Kendall's tau between SSLMem and Feldman's scores of S_C, tested one-sided in the paper's
    direction (tau > 0) like table 2's t-test: reproduced at p < 0.05, opposite at p > 0.95;
    otherwise undecided, or underpowered when the tau the test detects over the ranked
    candidates (``power.mde_kendall``) exceeds table 12's 0.192 (``FELDMAN_TAU``, module
    docstring)."""
    found = summary.feldman_tau
    if found is None:
        return NotMeasured("feldman.enabled is off: no supervised encoders to rank against")
    if not finite(found.tau) or not finite(found.p_value):
        return NotMeasured("Kendall's tau is undefined (constant scores)")
    p = one_sided(found.tau, found.p_value)
    mde = None if found.n is None else mde_kendall(found.n)
    over = "" if found.n is None else f" over {found.n} candidates"
    return Measured(f"Kendall tau {found.tau:.3f}{over} (one-sided p = {p:.2g})",
                    settle(verdict_from_p(p), mde, FELDMAN_TAU), None, found.tau, p, mde=mde,
                    paper_effect=FELDMAN_TAU)  # fmt: skip


CLAIMS = (
    Claim("002", "sec. 4.1, table 2",
          "Encoders memorize the images they trained on: candidates seen only by f score higher "
          "than images both f and g saw",
          "candidates memorized", "Cohen's d of S_C over S_S", candidates_memorized),
    Claim("002", "sec. 4.3, figs. 1, 9",
          "Atypical images (planted noise, inverted images, an unseen class) are among the most "
          "memorized",
          "atypical images memorized", "least planted AUROC - 0.5", planted_found),
    Claim("002", "sec. 4.4, table 1, fig. 4",
          "Trainings that memorize more reach higher downstream (probe) accuracy",
          "memorization goes with accuracy", "Spearman rho", memorization_goes_with_accuracy),
    Claim("002", "app. B.3, table 12",
          "SSL memorization (SSLMem) and supervised memorization (Feldman) rank images alike, "
          "in part",
          "SSLMem agrees with Feldman", "Kendall tau", feldman_agrees),
)  # fmt: skip
