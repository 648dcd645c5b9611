"""Paper 002's claims read from the atlas: the same statements as the sslmem study's, measured
on a pool of K models instead of one f / g pair, and judged against the atlas's own noise."""

from __future__ import annotations

from mnemoscope.analysis.claims import (
    Claim,
    Measured,
    NotMeasured,
    finite,
    one_sided,
    settle,
    verdict_from_p,
)
from mnemoscope.analysis.power import mde_kendall
from mnemoscope.studies.atlas.config import ATYPICAL
from mnemoscope.studies.atlas.summary import AtlasSummary
from mnemoscope.studies.sslmem.claims import FELDMAN_TAU


def first_of(summary: AtlasSummary, role: str) -> str | None:
    """The headline score of the first method of ``role`` (ssl, supervised), or None."""
    for method, found in summary.methods.items():
        if found == role:
            return summary.headline[method]
    return None


def candidates_memorized(summary: AtlasSummary) -> Measured | NotMeasured:
    """The one-sided t-test over the ordinary candidates of SSLMem > 0 (the IN models align an
    image's views better than the OUT models; table 16's m(S_C) > 0): p < 0.05 is reproduced,
    p > 0.95 (significant the other way) opposite."""
    test = summary.memorized
    if test is None:
        return NotMeasured("no SSL method in methods: SSLMem needs an SSL training")
    if not finite(test.p_value):
        return NotMeasured(f"{test.score} is constant over the candidates: no t-test")
    value = (f"mean {test.score} {test.mean:+.3f} over {test.n} candidates, t = "
             f"{test.statistic:.2f}, p = {test.p_value:.2g}")  # fmt: skip
    return Measured(value, verdict_from_p(test.p_value), None, test.effect_size, test.p_value)


def atypical_memorized(summary: AtlasSummary) -> Measured | NotMeasured:
    """AUROC of the first SSL method's SSLMem for each atypical planted kind (noise, inverted,
    held-out class) against the ordinary candidates: reproduced when every kind's 95% bootstrap
    interval (over images) lies above 0.5, opposite when every one lies below, else
    undecided; the effect is the smallest AUROC - 0.5."""
    score = first_of(summary, "ssl")
    if score is None:
        return NotMeasured("no SSL method in methods: SSLMem needs an SSL training")
    rows = [row for row in summary.detection if row.score == score and row.kind in ATYPICAL
            and finite(row.auroc)]  # fmt: skip
    if not rows:
        return NotMeasured("planted.kinds holds none of noise, inverted, held_out_class")
    value = "AUROC " + ", ".join(
        f"{row.kind.replace('_', ' ')} {row.auroc:.2f} [{row.auroc_low:.2f}, "
        f"{row.auroc_high:.2f}]" for row in rows) + f" ({score}; 0.5 = chance)"  # fmt: skip
    if all(row.auroc_low > 0.5 for row in rows):
        verdict = "reproduced"
    elif all(row.auroc_high < 0.5 for row in rows):
        verdict = "opposite"
    else:
        verdict = "undecided"
    return Measured(value, verdict, None, min(row.auroc for row in rows) - 0.5)


def sslmem_agrees_with_feldman(summary: AtlasSummary) -> Measured | NotMeasured:
    """Kendall's tau between the first SSL method's SSLMem and the first supervised method's
    Feldman score over the ordinary candidates, tested one-sided (tau > 0) like the sslmem
    study's ``feldman_agrees``: reproduced at p < 0.05, opposite at p > 0.95. Otherwise
    undecided, or underpowered when the run could not have seen table 12's tau
    (``FELDMAN_TAU``): the tau its test detects over these images (``power.mde_kendall``)
    exceeds it, or exceeds the noise ceiling of the two scores' reliabilities (the largest tau
    such noisy scores can show even when the true scores agree perfectly)."""
    a, b = first_of(summary, "ssl"), first_of(summary, "supervised")
    if a is None or b is None:
        return NotMeasured("needs an SSL and a supervised method in methods")
    row = next((row for row in summary.agreement if {row.a, row.b} == {a, b}), None)
    if row is None or not finite(row.kendall) or not finite(row.kendall_p):
        return NotMeasured(f"Kendall's tau of {a} and {b} is undefined (constant scores)")
    p = one_sided(row.kendall, row.kendall_p)
    ceiling = row.kendall_ceiling
    value = (f"Kendall tau {row.kendall:+.3f} (one-sided p = {p:.2g}), noise ceiling "
             f"{ceiling:.3f}" if finite(ceiling) else f"Kendall tau {row.kendall:+.3f} "
             f"(one-sided p = {p:.2g}), no noise ceiling")  # fmt: skip
    disattenuated = getattr(row, "disattenuated", None)
    if finite(disattenuated):
        value += f"; disattenuated Pearson r {disattenuated:+.2f}"
    value += f" ({a} vs {b}, {row.n} candidates)"
    mde = mde_kendall(row.n)
    verdict = settle(verdict_from_p(p), mde, FELDMAN_TAU)
    if verdict == "undecided" and finite(ceiling) and ceiling < mde:
        verdict = "underpowered"  # even perfect agreement would stay below the detectable tau
    return Measured(value, verdict, None, row.kendall, p, mde=mde, paper_effect=FELDMAN_TAU)


CLAIMS = (
    Claim("002", "sec. 4.1-4.2, tables 2, 16",
          "Encoders memorize the images they trained on: the models that saw an image align its "
          "views better than those that did not",
          "candidates memorized", "Cohen's d of SSLMem over the candidates", candidates_memorized),
    Claim("002", "sec. 4.3, figs. 1, 9",
          "Atypical images (planted noise, inverted images, an unseen class) are among the most "
          "memorized",
          "atypical images memorized", "least atypical AUROC - 0.5", atypical_memorized),
    Claim("002", "app. B.3, table 12",
          "SSL memorization (SSLMem) and supervised memorization (Feldman) rank images alike, "
          "in part",
          "SSLMem agrees with Feldman", "Kendall tau", sslmem_agrees_with_feldman),
)  # fmt: skip
