"""Paired tests of top-k against random-k, and the study's headlines.

The accuracy tables hold one row per (k, chosen, draw, seed, downstream):
``sslmem_removal`` (column ``removed``: top | random, and ``none`` at k = 0 for f itself) and
``sslmem_coreset`` (column ``kept``: top | random, and ``all`` for f itself, k = its size).

Pairing (``paired_tests``): a top-k encoder and the random-k encoders of the same seed share
everything but which k candidates are chosen (initialization, batch order, epochs), so the
seed is the pairing unit. Per seed and downstream set, the random draws are averaged (they
estimate the random-removal accuracy of that seed), and ``scipy.stats.ttest_rel`` (two-sided)
tests the top - random differences:

* per k and downstream: pairs over seeds;
* per k, downstream ``all``: pairs over (seed, downstream);
* k ``all``: pairs over (k, seed, downstream), the headline. Pairs that share a seed are not
  independent (one f per seed), so this pooled p is optimistic; the per-k rows are the tests
  of record and the headline gives both.

A verdict says which side is lower (removal: which removal "hurts more") when p < alpha, and
"undecided" otherwise (also with fewer than two pairs). Each row gives the test's minimum
detectable effect (``mde``: the |top - random| difference it detects with 80% power at one-sided
alpha 0.05, ``analysis.power.mde_mean`` of the pairs' differences; infinite, stored as null,
below two pairs), so that "undecided" can be read as "could have seen it" or not.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from mnemoscope.analysis.power import mde_mean

UNDECIDED = "undecided"
# the column naming what was chosen, and the verdicts when top is below / above random
VERDICTS = {
    "removal": ("removed", "top-k hurts more", "random-k hurts more"),
    "coreset": ("kept", "random-k trains better", "top-k trains better"),
}
TEST_COLUMNS = ["k", "downstream", "pairs", "mean_top", "mean_random", "difference",
                "statistic", "p_value", "mde", "verdict"]  # fmt: skip


def paired_tests(table: pd.DataFrame, experiment: str, alpha: float) -> pd.DataFrame:
    """One row per k (and ``all``) and downstream (and ``all``): pairs, mean_top, mean_random,
    difference (top - random, in accuracy), the paired t statistic, p_value, mde (module
    docstring) and verdict."""
    column = VERDICTS[experiment][0]
    chosen = table[table[column].isin(["top", "random"])]
    # per (k, seed, downstream): top's accuracy and the mean of the random draws
    by_seed = chosen.groupby(["k", "seed", "downstream", column])["accuracy"].mean().unstack(column)
    by_seed = by_seed.dropna(subset=[c for c in ("top", "random") if c in by_seed]).reset_index()
    if not {"top", "random"} <= set(by_seed.columns):
        return pd.DataFrame(columns=TEST_COLUMNS)
    rows = []
    downstreams = list(dict.fromkeys(chosen["downstream"]))
    for k in sorted(by_seed["k"].unique()):
        of_k = by_seed[by_seed["k"] == k]
        for downstream in [*downstreams, "all"]:
            pairs = of_k if downstream == "all" else of_k[of_k["downstream"] == downstream]
            rows.append(_test_row(int(k), downstream, pairs, experiment, alpha))
    rows.append(_test_row("all", "all", by_seed, experiment, alpha))
    # k is text: the numbers of the per-k rows and "all" for the pooled one
    return pd.DataFrame(rows, columns=TEST_COLUMNS).astype({"k": str})


def _test_row(k: Any, downstream: str, pairs: pd.DataFrame, experiment: str,
              alpha: float) -> dict[str, Any]:  # fmt: skip
    top, random = pairs["top"].to_numpy(float), pairs["random"].to_numpy(float)
    statistic = p_value = float("nan")
    if len(pairs) >= 2 and np.any(top != random):
        result = stats.ttest_rel(top, random)
        statistic, p_value = float(result.statistic), float(result.pvalue)
    difference = float(np.mean(top - random)) if len(pairs) else float("nan")
    spread = float(np.std(top - random, ddof=1)) if len(pairs) >= 2 else float("nan")
    return {"k": k, "downstream": downstream, "pairs": len(pairs),
            "mean_top": float(np.mean(top)) if len(pairs) else float("nan"),
            "mean_random": float(np.mean(random)) if len(pairs) else float("nan"),
            "difference": difference, "statistic": statistic, "p_value": p_value,
            "mde": mde_mean(spread, len(pairs)),
            "verdict": verdict(difference, p_value, experiment, alpha)}  # fmt: skip


def verdict(difference: float, p_value: float, experiment: str, alpha: float) -> str:
    """Which side is lower, when the paired test says so at ``alpha``; else undecided."""
    _, lower, higher = VERDICTS[experiment]
    if np.isnan(p_value) or p_value >= alpha or difference == 0:
        return UNDECIDED
    return lower if difference < 0 else higher


def headlines(tests: pd.DataFrame, experiment: str, reference: float) -> list[str]:
    """The pooled verdict first, then one line per k (its ``all`` downstream row);
    ``reference``: f's mean accuracy over downstreams and seeds (removal k = 0, coreset all)."""
    if tests.empty:
        return [f"{experiment}: no paired test (needs top and random runs)"]
    pooled = tests[(tests["k"] == "all") & (tests["downstream"] == "all")].iloc[0]
    question = ("removing the top-k memorized candidates hurt downstream accuracy more than "
                "removing k random ones" if experiment == "removal" else
                "training on only the top-k memorized candidates beat k random ones")  # fmt: skip
    answer = {UNDECIDED: "undecided at this scale"}.get(pooled["verdict"], pooled["verdict"])
    lines = [
        f"{experiment}: does {question}? {answer}: mean top - random "
        f"{100 * pooled['difference']:+.2f} points over {pooled['pairs']} (k, seed, downstream) "
        f"pairs, paired t = {pooled['statistic']:.2f}, p = {pooled['p_value']:.2g}, minimum "
        f"detectable {100 * pooled['mde']:.2f} points (pooled over k; f itself: "
        f"{100 * reference:.1f}%)"
    ]
    per_k = tests[(tests["k"] != "all") & (tests["downstream"] == "all")]
    for row in per_k.itertuples():
        lines.append(
            f"{experiment} k = {row.k}: top {100 * row.mean_top:.1f}% vs random "
            f"{100 * row.mean_random:.1f}% ({100 * row.difference:+.2f} points, paired t = "
            f"{row.statistic:.2f}, p = {row.p_value:.2g}, {row.pairs} pairs, minimum detectable "
            f"{100 * row.mde:.2f} points): {row.verdict}"
        )
    return lines
