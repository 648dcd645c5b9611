"""The study's tables, computed from the per-encoder alignments of the scored points.

* ``scores_table``: one row per scored point (id, subset, kind, label, align_f, align_g,
  score_raw, score_norm; ``score_raw_<center>`` / ``score_norm_<center>`` for any further
  estimate listed in ``measure.center``);
* ``tests_table``: the t-tests of tables 2 and 16 per estimate (center);
* ``summary_table``: mean score per subset with bootstrap intervals over points and over seeds;
* ``planted_table``: AUROC of the score, planted images of each kind vs ordinary candidates;
* ``reliability_table``: per tap, the split-half reliability of the per-image score.

Subset statistics use the ordinary candidates only (kind == "ordinary"): planted images are
atypical by construction and would inflate m(S_C).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mnemoscope.analysis import reliability, stats
from mnemoscope.measure.alignment import memorization_score, normalize_scores, score_range
from mnemoscope.studies.sslmem.config import MeasureConfig, StatsConfig

ORDINARY = "ordinary"

# (hypothesis H1, subset a, subset b or None for 0, alternative): tables 2 and 16.
HYPOTHESES = (
    ("m(S_C) > m(S_S)", "S_C", "S_S", "greater"),
    ("m(S_C) > m(S_E)", "S_C", "S_E", "greater"),
    ("m(S_S) > m(S_I)", "S_S", "S_I", "greater"),
    ("m(S_E) > m(S_I)", "S_E", "S_I", "greater"),
    ("m(S_C) > 0", "S_C", None, "greater"),
    ("m(S_I) < 0", "S_I", None, "less"),
    ("m(S_E) > 0", "S_E", None, "greater"),
    ("m(S_S) != 0", "S_S", None, "two-sided"),
)


def score_columns(center: str, primary: str) -> tuple[str, str]:
    """Column names of the raw and normalized score of estimate ``center``."""
    if center == primary:
        return "score_raw", "score_norm"
    return f"score_raw_{center}", f"score_norm_{center}"


def scores_table(
    points: pd.DataFrame, align_f: np.ndarray, align_g: np.ndarray, centers: list[str]
) -> pd.DataFrame:
    """``points`` (id, subset, kind, label) with alignments and the scores of each center.

    Normalization (appendix A) divides by the range of the raw score over the ordinary scored
    points of all four subsets (``scale``), so the subsets share one scale; planted images are
    scored with that same scale but do not set it (they may leave [-1, 1]).
    """
    table = points.copy()
    table["align_f"] = align_f.mean(axis=0)
    table["align_g"] = align_g.mean(axis=0)
    shared = shared_mask(table)
    for center in centers:
        raw = memorization_score(align_f, align_g, center=center, shared=shared)
        raw_column, norm_column = score_columns(center, centers[0])
        table[raw_column] = raw
        table[norm_column] = normalize_scores(raw, over=ordinary_mask(table))
    return table


def shared_mask(table: pd.DataFrame) -> np.ndarray:
    return (table["subset"] == "S_S").to_numpy()


def ordinary_mask(table: pd.DataFrame) -> np.ndarray:
    return (table["kind"] == ORDINARY).to_numpy()


def candidate_mask(table: pd.DataFrame) -> np.ndarray:
    """The ordinary candidates: the points every ranking (tables 12, 13) orders."""
    return ((table["subset"] == "S_C") & (table["kind"] == ORDINARY)).to_numpy()


def reliability_table(
    points: pd.DataFrame,
    by_tap: dict[str, tuple[np.ndarray, np.ndarray]],
    measure: MeasureConfig,
) -> pd.DataFrame:
    """Per tap (headline first), the split-half reliability of the per-image score over the
    ordinary candidates (``analysis.reliability``), from per-pair distances ``[K, N, A]``:
    tap, pairs, n, half_r, reliability (Spearman-Brown at ``pairs``), target and
    pairs_for_target (the pairs the same formula predicts for ``measure.target_reliability``).
    """
    rows = []
    for tap, (pairs_f, pairs_g) in by_tap.items():
        found = reliability.split_half(pairs_f, pairs_g, candidate_mask(points))
        target = measure.target_reliability
        rows.append({"tap": tap, "pairs": found.pairs, "n": found.n, "half_r": found.half_r,
                     "reliability": found.reliability, "target": target,
                     "pairs_for_target": reliability.pairs_for(found.reliability, found.pairs,
                                                               target)})  # fmt: skip
    return pd.DataFrame(rows)


def scale(table: pd.DataFrame, raw_column: str = "score_raw") -> float:
    """The normalization range: max - min of ``raw_column`` over the ordinary points (1.0 if 0,
    so that a degenerate range leaves values as they are)."""
    return score_range(table[raw_column].to_numpy(), over=ordinary_mask(table)) or 1.0


def subset_scores(table: pd.DataFrame, column: str) -> dict[str, np.ndarray]:
    """Scores per subset, ordinary candidates only for S_C."""
    ordinary = table[table["kind"] == ORDINARY]
    return {
        subset: ordinary.loc[ordinary["subset"] == subset, column].to_numpy()
        for subset in ("S_C", "S_I", "S_S", "S_E")
    }


def tests_table(table: pd.DataFrame, centers: list[str], config: StatsConfig) -> pd.DataFrame:
    """One row per (center, hypothesis): statistic, p_value, effect_size (Cohen's d)."""
    rows = []
    for center in centers:
        scores = subset_scores(table, score_columns(center, centers[0])[1])
        for hypothesis, a, b, alternative in HYPOTHESES:
            result = stats.ttest(
                scores[a],
                None if b is None else scores[b],
                alternative=alternative,
                equal_var=config.equal_var,
            )
            rows.append({
                "center": center, "hypothesis": hypothesis, "statistic": result.statistic,
                "p_value": result.p_value, "effect_size": result.effect_size,
                "difference": result.difference, "n_a": result.n_a, "n_b": result.n_b,
            })  # fmt: skip
    return pd.DataFrame(rows)


def summary_table(
    table: pd.DataFrame,
    align_f: np.ndarray,
    align_g: np.ndarray,
    centers: list[str],
    config: StatsConfig,
) -> pd.DataFrame:
    """Mean normalized score per subset; ci_* resample points (BCa), seed_ci_* resample the
    encoders of each side (percentile; NaN with a single seed a side)."""
    rows = []
    ordinary = (table["kind"] == ORDINARY).to_numpy()
    shared = shared_mask(table)
    for center in centers:
        raw_column, norm_column = score_columns(center, centers[0])
        raw = table[raw_column].to_numpy()
        spread = scale(table, raw_column)
        f_rows, g_rows = align_f, align_g
        if center == "shared":
            f_rows = align_f - align_f[:, shared].mean(axis=1, keepdims=True)
            g_rows = align_g - align_g[:, shared].mean(axis=1, keepdims=True)
        for subset in ("S_C", "S_I", "S_S", "S_E"):
            mask = ordinary & (table["subset"] == subset).to_numpy()
            values = table.loc[mask, norm_column].to_numpy()
            low, high = stats.bootstrap_mean_ci(
                values, confidence=config.confidence, n_resamples=config.bootstrap_resamples
            )
            seed_low, seed_high = stats.bootstrap_difference_ci(
                f_rows[:, mask].mean(axis=1), g_rows[:, mask].mean(axis=1),
                confidence=config.confidence, n_resamples=config.bootstrap_resamples,
            )  # fmt: skip
            rows.append({
                "center": center, "subset": subset, "mean": float(values.mean()),
                "ci_low": low, "ci_high": high, "n": int(mask.sum()),
                "seed_ci_low": seed_low / spread, "seed_ci_high": seed_high / spread,
                "mean_raw": float(raw[mask].mean()),
            })  # fmt: skip
    return pd.DataFrame(rows)


def planted_table(table: pd.DataFrame) -> pd.DataFrame:
    """kind, n, auroc (planted of that kind vs ordinary candidates), mean score of the kind."""
    candidates = table[table["subset"] == "S_C"]
    ordinary = candidates[candidates["kind"] == ORDINARY]["score_norm"].to_numpy()
    rows = []
    for kind in candidates["kind"].unique():
        if kind == ORDINARY:
            continue
        planted = candidates[candidates["kind"] == kind]["score_norm"].to_numpy()
        scores = np.concatenate([planted, ordinary])
        positive = np.concatenate([np.ones(len(planted), bool), np.zeros(len(ordinary), bool)])
        rows.append({"kind": kind, "n": len(planted), "auroc": stats.auroc(scores, positive),
                     "mean_score": float(planted.mean())})  # fmt: skip
    return pd.DataFrame(rows, columns=["kind", "n", "auroc", "mean_score"])


def headline_numbers(
    summary: pd.DataFrame, tests: pd.DataFrame, planted: pd.DataFrame, centers: list[str]
) -> dict[str, Any]:
    """The numbers ``summary.json`` leads with."""
    means = {
        center: {row.subset: row.mean for row in summary[summary["center"] == center].itertuples()}
        for center in centers
    }
    key_test = tests[tests["hypothesis"] == "m(S_C) > m(S_S)"]
    ttest = {
        row.center: {
            "statistic": row.statistic,
            "p_value": row.p_value,
            "effect_size": row.effect_size,
        }  # fmt: skip
        for row in key_test.itertuples()
    }
    auroc = {row.kind: row.auroc for row in planted.itertuples()}
    return {"center": centers[0], "centers": centers, "mean_score": means,
            "ttest_candidates_vs_shared": ttest, "planted_auroc": auroc}  # fmt: skip


def reliability_headlines(table: pd.DataFrame) -> list[str]:
    """One line per row of ``reliability_table`` (``layer`` named where it differs)."""
    lines = []
    for row in table.itertuples(index=False):
        layer = getattr(row, "layer", None)
        tap = row.tap if layer in (None, row.tap) else f"{row.tap} ({layer})"
        lines.append(
            f"per-image reliability of m(x) over the {row.n} ordinary candidates at tap {tap}: "
            f"{row.reliability:.2f} with {row.pairs} view pairs (split-half, Spearman-Brown); "
            f"{row.target:g} needs ~{row.pairs_for_target} pairs"
        )
    return lines
