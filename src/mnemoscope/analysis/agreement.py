"""Agreement of several per-image scores over the same images, read against their noise.

For every pair (a, b) of scores, over the images both score (finite in both):

* Pearson's r, Spearman's rho and Kendall's tau-b with their two-sided p-values (H0: no
  association; ``scipy.stats``, ``stats.kendall_tau``);
* the noise ceilings from the two split-half reliabilities rho_a, rho_b
  (``reliability.noise_ceiling`` / ``spearman_ceiling``): sqrt(rho_a rho_b) for r,
  (6 / pi) arcsin(sqrt(rho_a rho_b) / 2) for Spearman, (2 / pi) arcsin(sqrt(rho_a rho_b)) for
  tau; a correlation near its ceiling is as high as the noise of the two scores allows;
* Spearman's (1904) disattenuated correlation r / sqrt(rho_a rho_b) of Pearson's r (the
  correction is derived for Pearson's r; the rank columns are read against their ceilings);
* the top-k overlap (``stats.top_k_overlap``) beside its chance level k / n.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations
from typing import Any

import numpy as np
from scipy import stats as scipy_stats

from mnemoscope.analysis.reliability import disattenuate, noise_ceiling, spearman_ceiling
from mnemoscope.analysis.stats import kendall_tau, top_k_overlap

COLUMNS = [
    "a",
    "b",
    "n",
    "pearson",
    "pearson_p",
    "spearman",
    "spearman_p",
    "kendall",
    "kendall_p",
    "reliability_a",
    "reliability_b",
    "pearson_ceiling",
    "spearman_ceiling",
    "kendall_ceiling",
    "disattenuated",
    "top_k",
    "top_k_overlap",
    "top_k_chance",
]


def score_agreement(
    scores: Mapping[str, Any],
    reliabilities: Mapping[str, float] | None = None,
    *,
    k: int = 100,
    points: Any = None,
) -> Any:
    """A tidy DataFrame (``COLUMNS``), one row per pair of ``scores`` (name -> ``[N]`` score,
    NaN = not scored) in mapping order, over the images ``points`` (indices or a boolean mask;
    None = all). ``reliabilities`` (name -> split-half reliability; a score without noise has
    1; missing names NaN) fills the ceilings and the disattenuated r. ``k`` is capped at the
    images of the pair."""
    import pandas as pd

    if len(scores) < 2:
        raise ValueError(f"agreement needs at least two scores, got {list(scores)}")
    arrays = {name: np.asarray(value, dtype=np.float64) for name, value in scores.items()}
    shapes = {array.shape for array in arrays.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 1:
        raise ValueError(f"scores must be [N] vectors over the same images, got shapes {shapes}")
    if points is not None:
        arrays = {name: array[np.asarray(points)] for name, array in arrays.items()}
    reliabilities = dict(reliabilities or {})
    rows = []
    for a, b in combinations(arrays, 2):
        both = np.isfinite(arrays[a]) & np.isfinite(arrays[b])
        x, y = arrays[a][both], arrays[b][both]
        rho_a, rho_b = reliabilities.get(a, np.nan), reliabilities.get(b, np.nan)
        rows.append(
            {
                "a": a,
                "b": b,
                "n": int(x.size),
                "reliability_a": rho_a,
                "reliability_b": rho_b,
                **_correlations(x, y, rho_a, rho_b, k),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def _correlations(x: np.ndarray, y: np.ndarray, rho_a: float, rho_b: float, k: int) -> dict:
    pearson_ceiling, kendall_ceiling = noise_ceiling(rho_a, rho_b)
    row = {
        "pearson_ceiling": pearson_ceiling,
        "kendall_ceiling": kendall_ceiling,
        "spearman_ceiling": spearman_ceiling(rho_a, rho_b),
    }
    constant = x.size < 3 or x.std() == 0 or y.std() == 0
    if constant:  # no correlation is defined
        row.update(
            dict.fromkeys(
                [
                    "pearson",
                    "pearson_p",
                    "spearman",
                    "spearman_p",
                    "kendall",
                    "kendall_p",
                    "disattenuated",
                ],
                np.nan,
            )
        )
    else:
        pearson = scipy_stats.pearsonr(x, y)
        spearman = scipy_stats.spearmanr(x, y)
        tau, tau_p = kendall_tau(x, y)
        row.update(
            pearson=float(pearson.statistic),
            pearson_p=float(pearson.pvalue),
            spearman=float(spearman.statistic),
            spearman_p=float(spearman.pvalue),
            kendall=tau,
            kendall_p=tau_p,
            disattenuated=disattenuate(float(pearson.statistic), rho_a, rho_b),
        )
    top = min(k, x.size)
    row.update(
        top_k=top,
        top_k_overlap=top_k_overlap(x, y, top) if top >= 1 else np.nan,
        top_k_chance=top / x.size if x.size else np.nan,
    )
    return row
