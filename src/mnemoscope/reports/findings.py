"""The papers' headline claims and this run's verdict on each, from a study's ``summary.json``.

One ``Claim`` per headline claim of a paper: the claim in plain words, where the paper makes it,
and a small function of the study's summary that returns what this run measured (``Measured``)
or ``None`` when the summary lacks what the claim needs (an older run, a section the config did
not enable). Every function reads keys defensively: a run directory written before a key existed
must still give a report. To add a claim, write its function and append it to ``CLAIMS``.

Verdicts:

* ``reproduced``: the effect has the paper's sign and clears the stated margin;
* ``opposite``: the effect has the other sign and clears the same margin;
* ``not at this scale``: the run did not reach the regime the claim is about (a paradigm that
  never reached mean p_t = 0.5, random labels that were not fitted);
* ``undecided``: the effect is within its margin (noise at this scale).

Margins are stated in each function: two standard deviations where the study gives one
(``mae_sd``), the one-sided t-test's 5% level for SSLMem, and two points of kNN accuracy (about
two standard errors of a kNN accuracy on 1,000-2,000 test images) for the benign probes.

Each ``Measured`` also carries its ``effect`` (the number the verdict is about, positive in the
paper's direction; ``Claim.effect`` names it) and, where the study tests it, a one-sided
``p_value`` in the paper's direction. A study repeated over study seeds (``studies.repeat``)
has a summary holding each seed's; ``findings`` then ``combine``s the seeds' measurements: the
verdict holds when every seed gives it, or when every seed points the paper's way and the
combined test is significant ("undecided" otherwise: ``combine``), with the effect's spread
(mean, min, max, t interval over seeds) and a combined p-value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mnemoscope.analysis.stats import combine_p_values, seed_interval, ttest

VERDICTS = ("reproduced", "not at this scale", "opposite", "undecided")
PAPERS = {
    "001": "Sadrtdinov et al., On the Memorization Properties of Contrastive Learning",
    "002": "Wang et al., Memorization in Self-Supervised Learning Improves Downstream "
    "Generalization",
    "003": "Anagnostidis et al., The Curious Case of Benign Memorization",
}
KNN_MARGIN = 0.02  # two points of kNN accuracy: ~2 standard errors on 1,000-2,000 test images
AUROC_MARGIN = 0.1  # AUROC beyond 0.5 +- 0.1 before planted images count as found (or avoided)
ALPHA = 0.05


@dataclass(frozen=True)
class Measured:
    """What this run measured for a claim: the value, its interval (or ``None``), a verdict;
    ``effect`` and ``p_value`` as numbers for combining study seeds (module docstring)."""

    value: str
    verdict: str
    interval: str | None = None
    effect: float | None = None
    p_value: float | None = None

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict {self.verdict!r} is not one of {VERDICTS}")


@dataclass(frozen=True)
class Claim:
    """A paper's headline claim and how to read this run's verdict on it from a summary."""

    study: str
    paper: str
    section: str
    text: str
    measure: Callable[[Mapping[str, Any]], Measured | None]
    effect: str = ""  # what ``Measured.effect`` is, positive in the paper's direction


@dataclass(frozen=True)
class Finding:
    """A claim with what this run measured for it (``measured`` is ``None``: not measured)."""

    claim: Claim
    measured: Measured | None


def findings(study: str, summary: Mapping[str, Any]) -> list[Finding]:
    """Every claim of ``study``'s paper with this summary's measurement of it (combined over
    study seeds when the summary is a repeated study's)."""
    per_seed = _seed_summaries(summary)
    confidence = _number(_get(summary, "repeat", "confidence")) or 0.95
    result = []
    for claim in CLAIMS:
        if claim.study != study:
            continue
        if per_seed is None:
            result.append(Finding(claim, _measure(claim, summary)))
        else:
            measured = {k: _measure(claim, seed) for k, seed in per_seed.items()}
            result.append(Finding(claim, combine(measured, confidence)))
    return result


def _measure(claim: Claim, summary: Mapping[str, Any]) -> Measured | None:
    try:
        return claim.measure(summary)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        return None  # a summary of another shape: not measured, never a broken report


def _seed_summaries(summary: Mapping[str, Any]) -> dict[str, Mapping[str, Any]] | None:
    """A repeated study's per-seed summaries by study seed, or ``None`` for a single study."""
    seeds = summary.get("seeds") if isinstance(summary.get("repeat"), Mapping) else None
    if not isinstance(seeds, Mapping) or not seeds:
        return None
    return {str(k): v for k, v in seeds.items() if isinstance(v, Mapping)}


def combine(measured: Mapping[str, Measured | None], confidence: float = 0.95) -> Measured | None:
    """One claim over study seeds (``measured``: each seed's measurement, ``None`` if the seed
    did not measure it).

    Verdict: the seeds' common verdict when every seed measured the claim and all agree. Seeds
    that agree only in direction decide together: when every seed is ``reproduced`` or
    ``undecided`` (too little power for one seed's margin), every effect has the paper's sign
    and the combined test below gives p < 0.05, the claim is ``reproduced`` (``opposite``
    symmetrically: every effect against the paper, combined p > 0.95). Anything else is
    ``undecided``: a headline must hold in direction at every study seed. Spread: the mean,
    minimum and
    maximum of the seeds' effects and their t interval at ``confidence``
    (``analysis.stats.seed_interval``, the interval behind benign's "undecided at this scale").
    Combined test, one-sided in the paper's direction: Stouffer's combination of the seeds'
    p-values where every seed gives one (``analysis.stats.combine_p_values``, which says why not
    Fisher's); for claims decided by a margin rather than a test, a one-sample t-test of the
    seeds' effects > 0 (the seeds are the sample; needs two seeds).
    """
    present = {k: m for k, m in measured.items() if m is not None}
    if not present:
        return None
    verdicts = {m.verdict for m in present.values()}
    complete = len(present) == len(measured)
    verdict = next(iter(verdicts)) if len(verdicts) == 1 and complete else "undecided"
    listed = ", ".join(f"{k}: {m.verdict}" for k, m in present.items())
    missing = [k for k, m in measured.items() if m is None]
    if missing:
        listed += ", " + ", ".join(f"{k}: not measured" for k in missing)
    value = f"{len(measured)} study seeds ({listed})"
    interval, mean = None, None
    effects = [m.effect for m in present.values() if m.effect is not None]
    if effects:
        spread = seed_interval(effects, confidence)
        mean = spread.mean
        value = (f"mean effect {spread.mean:+.3g} (min {spread.minimum:+.3g}, max "
                 f"{spread.maximum:+.3g}) over {value}")  # fmt: skip
        interval = f"{confidence:.0%} t interval over seeds [{spread.low:+.3g}, {spread.high:+.3g}]"
    p_values = [m.p_value for m in present.values() if m.p_value is not None]
    p = None
    if p_values and len(p_values) == len(present):
        p, test = combine_p_values(p_values), "Stouffer"
    elif len(effects) >= 2 and len(set(effects)) > 1:
        p, test = ttest(effects, alternative="greater").p_value, "t-test of the seeds' effects"
    if p is not None:
        value += f"; combined p = {p:.2g} ({test})"
        if verdict == "undecided" and complete and len(effects) == len(present):
            verdict = _direction_verdict(verdicts, effects, p)
    return Measured(value, verdict, interval, mean, p)


def _direction_verdict(verdicts: set[str], effects: list[float], p: float) -> str:
    """The combined verdict of seeds that disagree only in their margins (see ``combine``)."""
    if verdicts <= {"reproduced", "undecided"} and all(e > 0 for e in effects) and p < ALPHA:
        return "reproduced"
    if verdicts <= {"opposite", "undecided"} and all(e < 0 for e in effects) and p > 1 - ALPHA:
        return "opposite"
    return "undecided"


def combined_summary(
    study: str, summaries: Mapping[Any, Mapping[str, Any]], confidence: float = 0.95
) -> tuple[dict[str, Any], Any]:
    """The summary of a study repeated over study seeds (``summaries``: each seed's, by seed)
    and its table of findings: one row per claim and seed, and one combined row per claim."""
    import pandas as pd

    summary: dict[str, Any] = {
        "repeat": {"study_seeds": list(summaries), "confidence": confidence},
        "seeds": {str(k): v for k, v in summaries.items()},
    }
    rows, headlines = [], []
    for claim in CLAIMS:
        if claim.study != study:
            continue
        per_seed = {str(k): _measure(claim, v) for k, v in summaries.items()}
        combined = combine(per_seed, confidence)
        for k, m in [*per_seed.items(), ("combined", combined)]:
            rows.append({"claim": claim.text, "section": claim.section, "effect_name": claim.effect,
                         "study_seed": k, "verdict": m.verdict if m else None,
                         "effect": m.effect if m else None, "p_value": m.p_value if m else None,
                         "value": m.value if m else None,
                         "interval": m.interval if m else None})  # fmt: skip
        if combined is not None:
            headlines.append(f"{claim.text} ({claim.section}): {combined.verdict}; "
                             f"{claim.effect}: {combined.value}")  # fmt: skip
    summary["headlines"] = headlines
    return summary, pd.DataFrame(rows)


def _one_sided(statistic: float, two_sided_p: float) -> float:
    """The one-sided p-value (H1: statistic > 0) of a two-sided test's p-value."""
    return two_sided_p / 2 if statistic > 0 else 1 - two_sided_p / 2


def _get(mapping: Any, *keys: str) -> Any:
    """``mapping[k1][k2]...`` or ``None`` as soon as a level is missing."""
    for key in keys:
        if not isinstance(mapping, Mapping) or key not in mapping:
            return None
        mapping = mapping[key]
    return mapping


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _signed(effect: float, margin: float) -> str:
    """``reproduced`` / ``opposite`` / ``undecided`` for an effect the paper says is positive."""
    if effect > margin:
        return "reproduced"
    if effect < -margin:
        return "opposite"
    return "undecided"


# -- paper 001: memorization profiles ----------------------------------------------------------


def _alignment_at_middle(summary: Mapping[str, Any], variant: str) -> dict[str, dict[str, Any]]:
    """Rows of ``summary["alignment"]`` at the middle target (0.5) for ``variant``, by paradigm,
    against the paper's binomial null (not the network-block permutation null)."""
    rows = [
        row
        for row in summary.get("alignment") or []
        if row.get("variant") == variant and row.get("null", "binomial") == "binomial"
    ]
    targets = sorted({float(row["target_p"]) for row in rows})
    if not targets:
        return {}
    middle = 0.5 if 0.5 in targets else targets[len(targets) // 2]
    return {row["paradigm"]: row for row in rows if float(row["target_p"]) == middle}


def _sd(*rows: Mapping[str, Any]) -> str:
    sds = ", ".join(f"± {float(row.get('mae_sd') or 0):.3f}" for row in rows)
    return f"{sds} (sd over binomial draws)"


def _not_reached(*rows: Mapping[str, Any]) -> bool:
    return any(row.get("reached") is False for row in rows)


def supervised_far_from_binomial(summary: Mapping[str, Any]) -> Measured | None:
    """Averaged profiles at mean p_t ~ 0.5: MAE to binomial noise, supervised minus SimCLR,
    beyond two sd of the difference (sd over binomial draws)."""
    rows = _alignment_at_middle(summary, "averaged")
    if "supervised" not in rows or "simclr" not in rows:
        return None
    supervised, simclr = rows["supervised"], rows["simclr"]
    value = (f"MAE to binomial at p ~ 0.5: supervised {float(supervised['mae']):.3f}, "
             f"SimCLR {float(simclr['mae']):.3f}")  # fmt: skip
    interval = _sd(supervised, simclr)
    if _not_reached(supervised, simclr):
        return Measured(value + " (mean p_t 0.5 not reached)", "not at this scale", interval,
                        float(supervised["mae"]) - float(simclr["mae"]))  # fmt: skip
    margin = 2 * math.hypot(float(supervised["mae_sd"] or 0), float(simclr["mae_sd"] or 0))
    effect = float(supervised["mae"]) - float(simclr["mae"])
    return Measured(value, _signed(effect, margin), interval, effect)


def fixed_augmentations_move_simclr(summary: Mapping[str, Any]) -> Measured | None:
    """SimCLR at mean p_t ~ 0.5: MAE of fixed-augmentation profiles minus averaged ones,
    beyond two sd."""
    averaged = _alignment_at_middle(summary, "averaged").get("simclr")
    fixed = _alignment_at_middle(summary, "fixed").get("simclr")
    if averaged is None or fixed is None:
        return None
    value = (f"SimCLR MAE to binomial: fixed augmentations {float(fixed['mae']):.3f}, "
             f"averaged {float(averaged['mae']):.3f}")  # fmt: skip
    interval = _sd(fixed, averaged)
    effect = float(fixed["mae"]) - float(averaged["mae"])
    if _not_reached(averaged, fixed):
        return Measured(value + " (mean p_t 0.5 not reached)", "not at this scale", interval,
                        effect)  # fmt: skip
    margin = 2 * math.hypot(float(fixed["mae_sd"] or 0), float(averaged["mae_sd"] or 0))
    return Measured(value, _signed(effect, margin), interval, effect)


def simclr_like_random_labels(summary: Mapping[str, Any]) -> Measured | None:
    """Averaged profiles at mean p_t ~ 0.5: SimCLR's MAE is closer to the nearest random-labels
    paradigm's than to supervised's, beyond two sd."""
    rows = _alignment_at_middle(summary, "averaged")
    randoms = [name for name in rows if name.startswith("random")]
    if "simclr" not in rows or "supervised" not in rows or not randoms:
        return None
    simclr = rows["simclr"]
    nearest = min(randoms, key=lambda name: abs(float(rows[name]["mae"]) - float(simclr["mae"])))
    to_random = abs(float(rows[nearest]["mae"]) - float(simclr["mae"]))
    to_supervised = abs(float(rows["supervised"]["mae"]) - float(simclr["mae"]))
    value = (f"|MAE difference| of SimCLR to {nearest} {to_random:.3f}, "
             f"to supervised {to_supervised:.3f}")  # fmt: skip
    effect = to_supervised - to_random
    if _not_reached(simclr, rows[nearest], rows["supervised"]):
        return Measured(value + " (mean p_t 0.5 not reached)", "not at this scale", None, effect)
    sds = [float(rows[name]["mae_sd"] or 0) for name in ("simclr", nearest, "supervised")]
    margin = 2 * math.sqrt(sum(sd * sd for sd in sds))
    return Measured(value, _signed(effect, margin), None, effect)


# -- paper 002: SSLMem ---------------------------------------------------------------------------


def candidates_memorized(summary: Mapping[str, Any]) -> Measured | None:
    """The one-sided t-test of m(S_C) > m(S_S) at the headline center (table 2): p < 0.05 is
    reproduced, p > 0.95 (significant the other way) opposite."""
    center = summary.get("center")
    test = _get(summary, "ttest_candidates_vs_shared", center) if center else None
    p = _number(_get(test, "p_value"))
    if p is None:
        return None
    statistic, effect = _number(test.get("statistic")), _number(test.get("effect_size"))
    means = _get(summary, "mean_score", center) or {}
    value = f"t = {statistic:.2f}, p = {p:.2g}, Cohen's d = {effect:.2f}"
    if "S_C" in means and "S_S" in means:
        value += f"; mean score S_C {float(means['S_C']):+.3f}, S_S {float(means['S_S']):+.3f}"
    value += f" ({center}, tap {summary.get('tap', 'auto')})"
    interval = _ci(summary.get("mean_score_ci"), center, "S_C")
    verdict = "reproduced" if p < ALPHA else "opposite" if p > 1 - ALPHA else "undecided"
    return Measured(value, verdict, interval, effect, p)


def _ci(intervals: Any, center: str, subset: str) -> str | None:
    """``[low, high]`` of ``intervals[center][subset]`` when the summary carries it."""
    pair = _get(intervals, center, subset)
    if isinstance(pair, list | tuple) and len(pair) == 2:
        return f"{subset} 95% CI [{float(pair[0]):+.3f}, {float(pair[1]):+.3f}]"
    return None


def planted_found(summary: Mapping[str, Any]) -> Measured | None:
    """AUROC of planted atypical images against ordinary candidates: every kind above
    0.5 + 0.1 is reproduced, every kind below 0.5 - 0.1 opposite."""
    aurocs = {kind: _number(v) for kind, v in (summary.get("planted_auroc") or {}).items()}
    aurocs = {kind: v for kind, v in aurocs.items() if v is not None}
    if not aurocs:
        return None
    value = "AUROC " + ", ".join(f"{kind.replace('_', ' ')} {v:.2f}" for kind, v in aurocs.items())
    verdicts = {_signed(v - 0.5, AUROC_MARGIN) for v in aurocs.values()}
    verdict = verdicts.pop() if len(verdicts) == 1 else "undecided"
    return Measured(value + " (0.5 = chance)", verdict, None, min(aurocs.values()) - 0.5)


def feldman_agrees(summary: Mapping[str, Any]) -> Measured | None:
    """Kendall's tau between SSLMem and Feldman's scores of S_C, tested one-sided in the paper's
    direction (tau > 0) like table 2's t-test: reproduced at p < 0.05, opposite at p > 0.95."""
    tau, p = _number(_get(summary, "feldman_tau", "tau")), _number(_get(summary, "feldman_tau",
                                                                         "p_value"))  # fmt: skip
    if tau is None or p is None:
        return None
    one_sided = _one_sided(tau, p)
    verdict = ("reproduced" if one_sided < ALPHA else "opposite" if one_sided > 1 - ALPHA
               else "undecided")  # fmt: skip
    return Measured(f"Kendall tau {tau:.3f} (one-sided p = {one_sided:.2g})", verdict, None, tau,
                    one_sided)  # fmt: skip


def memorization_goes_with_accuracy(summary: Mapping[str, Any]) -> Measured | None:
    """Spearman's rho across trainings (methods and lambdas of ``compare``) between SSLMem on
    S_C and probe accuracy: positive at p < 0.05; needs at least three trainings."""
    rows = [
        (_number(row.get("score_norm_mean")), _number(row.get("probe_accuracy")))
        for row in summary.get("methods") or []
    ]
    rows = [(s, a) for s, a in rows if s is not None and a is not None]
    if len(rows) < 3:
        return None
    from scipy.stats import spearmanr

    rho, p = spearmanr([s for s, _ in rows], [a for _, a in rows])
    rho, p = float(rho), float(p)
    if math.isnan(rho):
        return Measured(f"{len(rows)} trainings, constant scores or accuracies", "undecided")
    verdict = "undecided" if p >= ALPHA else "reproduced" if rho > 0 else "opposite"
    return Measured(f"Spearman rho {rho:+.2f} over {len(rows)} trainings (p = {p:.2g})", verdict,
                    None, rho, _one_sided(rho, p))  # fmt: skip


def _privacy_rows(summary: Mapping[str, Any]) -> tuple[Any, Any] | None:
    """The epsilon = infinity row and the smallest epsilon's (sslmem-privacy's table 5), None
    without a DP-SGD row to compare."""
    rows = summary.get("privacy") or []
    return (rows[0], rows[-1]) if len(rows) >= 2 else None


def privacy_lowers_memorization(summary: Mapping[str, Any]) -> Measured | None:
    """SSLMem on S_C at the smallest epsilon against no DP: a difference counts when the two
    bootstrap intervals (over the candidates) do not overlap."""
    if _privacy_rows(summary) is None:
        return None
    base, tight = _privacy_rows(summary)
    low, high = float(tight["sslmem_ci_low"]), float(tight["sslmem_ci_high"])
    apart_below = high < float(base["sslmem_ci_low"])
    apart_above = low > float(base["sslmem_ci_high"])
    verdict = "reproduced" if apart_below else "opposite" if apart_above else "undecided"
    value = (f"SSLMem {float(tight['sslmem_mean']):+.3f} at epsilon "
             f"{float(tight['epsilon_target']):g} vs {float(base['sslmem_mean']):+.3f} without DP")
    effect = float(base["sslmem_mean"]) - float(tight["sslmem_mean"])
    return Measured(value, verdict, f"[{low:+.3f}, {high:+.3f}]", effect)  # fmt: skip


def privacy_lowers_accuracy(summary: Mapping[str, Any]) -> Measured | None:
    """Probe accuracy at the smallest epsilon against no DP, beyond two points either way."""
    if _privacy_rows(summary) is None:
        return None
    base, tight = _privacy_rows(summary)
    change = float(tight["probe_accuracy"]) - float(base["probe_accuracy"])
    value = (f"probe accuracy {float(tight['probe_accuracy']):.1%} at epsilon "
             f"{float(tight['epsilon_target']):g} vs {float(base['probe_accuracy']):.1%}")
    return Measured(value, _signed(-change, KNN_MARGIN), None, -change)  # fmt: skip


# -- paper 003: benign memorization --------------------------------------------------------------


def _verdict_row(summary: Mapping[str, Any], setting: str) -> Mapping[str, Any] | None:
    return next((r for r in summary.get("verdicts") or [] if r.get("setting") == setting), None)


def _memorization_verdict(
    summary: Mapping[str, Any], setting: str, expected: str
) -> Measured | None:
    row = _verdict_row(summary, setting)
    if row is None:
        return None
    value = (f"fits {float(row['train_acc_random']):.1%} of its random labels; embedding kNN "
             f"{float(row['probe_acc']):.1%} vs {float(row['init_probe_acc']):.1%} at "
             "initialization")  # fmt: skip
    verdict = {
        "no memorization": "not at this scale",
        "undecided at this scale": "undecided",  # the seed interval straddles the margin
        expected: "reproduced",
    }.get(row.get("verdict"), "opposite")
    gain = _number(row.get("gain"))
    if gain is None:  # a summary written before the seed-level interval
        gain = float(row["probe_acc"]) - float(row["init_probe_acc"])
    effect = gain if expected == "benign" else -gain
    return Measured(value + f": {row.get('verdict')}", verdict, None, effect)


def benign_with_augmentation(summary: Mapping[str, Any]) -> Measured | None:
    """Definition 4.1 on random labels with augmentation: ``benign`` is reproduced."""
    return _memorization_verdict(summary, "random+da", "benign")


def malign_without_augmentation(summary: Mapping[str, Any]) -> Measured | None:
    """Definition 4.1 on random labels without augmentation: ``malign`` is reproduced."""
    return _memorization_verdict(summary, "random", "malign")


def last_layers_memorize(summary: Mapping[str, Any]) -> Measured | None:
    """Random labels without augmentation: clean kNN of the embedding minus that of the output
    layer, beyond two points (the output layer fits the noise, the encoder keeps the signal)."""
    knn = _get(summary, "clean_knn_final", "random") or {}
    embedding, output = _number(knn.get("embedding")), _number(knn.get("output"))
    if embedding is None or output is None:
        return None
    value = f"random labels: clean kNN of the embedding {embedding:.1%}, of the output {output:.1%}"
    return Measured(value, _signed(embedding - output, KNN_MARGIN), None, embedding - output)


def augmentation_makes_invariant(summary: Mapping[str, Any]) -> Measured | None:
    """Normalized invariance of the embedding (eq. 2, lower = more invariant): random labels
    with augmentation against without; 10% of the larger value is the margin."""
    values = summary.get("invariance_embedding_final") or {}
    with_da, without = _number(values.get("random+da")), _number(values.get("random"))
    if with_da is None or without is None:
        return None
    value = (f"invariance (lower = more invariant): with augmentation {with_da:.2f}, "
             f"without {without:.2f}")  # fmt: skip
    margin = 0.1 * max(abs(with_da), abs(without))
    return Measured(value, _signed(without - with_da, margin), None, without - with_da)


def more_augmentations_help(summary: Mapping[str, Any]) -> Measured | None:
    """The toy model at its smallest n: test kNN with the most augmentations minus with the
    fewest, beyond two points."""
    toy = summary.get("toy") or {}
    most, fewest = _number(toy.get("test_knn_most")), _number(toy.get("test_knn_fewest"))
    if most is None or fewest is None:
        return None
    value = (f"toy model: test kNN {fewest:.1%} with B = {toy.get('fewest_augmentations')}, "
             f"{most:.1%} with B = {toy.get('most_augmentations')}")  # fmt: skip
    return Measured(value, _signed(most - fewest, KNN_MARGIN), None, most - fewest)


# -- paper 002, table 4: Déjà Vu (Meehan et al. 2023) -------------------------------------------


def dejavu_memorized(summary: Mapping[str, Any]) -> Measured | None:
    """Per method, A's label-inference accuracy from the periphery minus B's (the Déjà Vu gap)
    with its one-sided t-test over seeds: reproduced when every method's gap is above 0 at the
    5% level, opposite when every gap is negative at that level, undecided otherwise."""
    rows = summary.get("table4") or []
    if not rows:
        return None
    gaps = [(str(row["method"]), float(row["dejavu"]), _number(row.get("dejavu_p")))
            for row in rows]  # fmt: skip
    value = "Déjà Vu gap " + ", ".join(f"{name} {100 * gap:+.1f}%" for name, gap, _ in gaps)
    if all(p is not None and p < ALPHA and gap > 0 for _, gap, p in gaps):
        verdict = "reproduced"
    elif all(p is not None and p > 1 - ALPHA and gap < 0 for _, gap, p in gaps):
        verdict = "opposite"
    else:
        verdict = "undecided"
    # Every gap must be positive: its intersection-union test is the largest one-sided p, and
    # the effect that must clear 0 is the smallest gap.
    p_values = [p for _, _, p in gaps]
    p_value = max(p_values) if all(p is not None for p in p_values) else None
    return Measured(value, verdict, None, min(gap for _, gap, _ in gaps), p_value)


def _pooled_test(summary: Mapping[str, Any], experiment: str) -> Mapping[str, Any] | None:
    rows = summary.get(experiment) or []
    return next((r for r in rows if str(r.get("k")) == "all" and r.get("downstream") == "all"),
                None)  # fmt: skip


def _removal_claim(summary: Mapping[str, Any], experiment: str, paper_sign: int) -> Measured | None:
    """The pooled paired test of top-k against random-k (``studies.removal.tables``): top -
    random accuracy over (k, seed, downstream) pairs, two-sided ``ttest_rel``. The paper's
    direction is top below random for removal (``paper_sign`` -1) and above for coresets (+1);
    reproduced / opposite when p < 0.05 in that / the other direction, undecided otherwise. The
    pooled pairs share seeds, so the p-value is optimistic (the per-k rows are in the table)."""
    row = _pooled_test(summary, experiment)
    if row is None:
        return None
    difference, p_two = float(row["difference"]), _number(row.get("p_value"))
    effect = paper_sign * difference
    p_value = None if p_two is None else _one_sided(effect, p_two)
    if p_two is None or p_two >= ALPHA or effect == 0:
        verdict = "undecided"
    else:
        verdict = "reproduced" if effect > 0 else "opposite"
    value = (f"top-k {100 * float(row['mean_top']):.1f}% vs random-k "
             f"{100 * float(row['mean_random']):.1f}% ({100 * difference:+.2f} points over "
             f"{int(row['pairs'])} pairs, p = {p_two if p_two is not None else float('nan'):.2g})")
    return Measured(value, verdict, None, effect, p_value)


def removal_hurts(summary: Mapping[str, Any]) -> Measured | None:
    """Removing the top-k memorized candidates costs more accuracy than removing k random ones."""
    return _removal_claim(summary, "removal", -1)


def coreset_of_memorized(summary: Mapping[str, Any]) -> Measured | None:
    """A coreset of the top-k memorized candidates trains better than k random ones."""
    return _removal_claim(summary, "coreset", +1)


CLAIMS: list[Claim] = [
    Claim("profiles", "001", "sec. 4.1, fig. 2 (left)",
          "Supervised training separates easy from hard images far more than SimCLR: its "
          "memorization profile is further from binomial noise", supervised_far_from_binomial,
          effect="supervised MAE - SimCLR MAE"),
    Claim("profiles", "001", "sec. 4.1, fig. 2 (right), fig. 4",
          "Fixing each image's augmentation moves SimCLR away from binomial noise: some "
          "image-augmentation pairs are much easier to learn than others",
          fixed_augmentations_move_simclr,
          effect="SimCLR MAE fixed - averaged"),
    Claim("profiles", "001", "sec. 4.2, fig. 3",
          "SimCLR's memorization profiles look like random-label training's, not supervised "
          "training's", simclr_like_random_labels,
          effect="|SimCLR - supervised| - |SimCLR - random labels| MAE"),
    Claim("sslmem", "002", "sec. 4.1, table 2",
          "Encoders memorize the images they trained on: candidates seen only by f score higher "
          "than images both f and g saw", candidates_memorized,
          effect="Cohen's d of S_C over S_S"),
    Claim("sslmem", "002", "sec. 4.3, figs. 1, 9",
          "Atypical images (planted noise, inverted images, an unseen class) are among the most "
          "memorized", planted_found,
          effect="least planted AUROC - 0.5"),
    Claim("sslmem", "002", "sec. 4.4, table 1, fig. 4",
          "Trainings that memorize more reach higher downstream (probe) accuracy",
          memorization_goes_with_accuracy,
          effect="Spearman rho"),
    Claim("sslmem", "002", "app. B.3, table 12",
          "SSL memorization (SSLMem) and supervised memorization (Feldman) rank images alike, "
          "in part", feldman_agrees,
          effect="Kendall tau"),
    Claim("sslmem-privacy", "002", "sec. 4.6, table 5",
          "Training with differential privacy (DP-SGD) lowers memorization",
          privacy_lowers_memorization, effect="SSLMem on S_C without DP - at the smallest epsilon"),
    Claim("sslmem-privacy", "002", "sec. 4.6, table 5",
          "... and lowers downstream accuracy with it", privacy_lowers_accuracy,
          effect="probe accuracy without DP - at the smallest epsilon"),
    Claim("benign", "003", "sec. 4, def. 4.1, table 1",
          "With augmentation, networks memorize random labels benignly: their features beat "
          "initialization", benign_with_augmentation,
          effect="embedding kNN gain over init"),
    Claim("benign", "003", "sec. 4, table 1",
          "Without augmentation, memorizing random labels is malign: features no better than "
          "initialization", malign_without_augmentation,
          effect="embedding kNN loss against init"),
    Claim("benign", "003", "sec. 4, fig. 4",
          "Random labels are fitted in the last layers; the encoder keeps the clean signal",
          last_layers_memorize,
          effect="clean kNN embedding - output"),
    Claim("benign", "003", "sec. 5, eq. 2, fig. 7",
          "Training with augmentation makes the features invariant to it",
          augmentation_makes_invariant,
          effect="invariance without - with augmentation"),
    Claim("benign", "003", "sec. 5.1, app. E, fig. 14",
          "At fixed capacity, more augmentations give better features (toy model)",
          more_augmentations_help,
          effect="toy test kNN most - fewest augmentations"),
    Claim("sslmem-dejavu", "002", "sec. 4.5, table 4",
          "SSL encoders have Déjà Vu memorization (Meehan et al.): from the periphery of its "
          "training images, A guesses their labels better than B, which never saw them",
          dejavu_memorized, effect="least Déjà Vu gap over methods"),
    Claim("sslmem-removal", "002", "sec. 4.4, fig. 3",
          "Memorized images matter: removing the most memorized training images lowers "
          "downstream accuracy more than removing as many random ones", removal_hurts,
          effect="random-k - top-k removed, accuracy"),
    Claim("sslmem-removal", "002", "app. D.5, table 17",
          "Training on only the most memorized images works well: such a coreset trains better "
          "encoders than as many random images (the paper compares it with the full set)",
          coreset_of_memorized, effect="top-k - random-k kept, accuracy"),
]  # fmt: skip
