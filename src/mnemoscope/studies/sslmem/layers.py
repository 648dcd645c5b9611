"""Which layer memorizes: the study's statistics at more taps than the headline one.

Appendix A scores "the full representations returned by the encoders"; where in the network
memorization shows is a question of its own (the projector output is what the SSL loss
aligns, the pooled embedding what a linear probe reads). ``measure.extra_taps`` scores those
taps with the very same views as the headline tap, and ``taps_table`` puts, per tap, the
headline statistics side by side: mean normalized score per subset, the t-test
m(S_C) > m(S_S) and the AUROC of each planted kind. The study adds the layer each tap reads
(``auto`` -> ``layer4`` on a convnet).

LayerMem (Wang et al., "Localizing Memorization in SSL Vision Encoders", NeurIPS 2024) is
SSLMem read at a layer l: the representation of eq. 1 is layer l's output, flattened and
l2-normalized (``measure.alignment.representations``), with the same f, g, views and pairs as
the headline tap. Per image m_l(x) is eq. 2 at layer l, normalized as the headline score
(range over the ordinary points, appendix A), and

    LayerMem_l       = mean_{x in S_C, ordinary} m_norm,l(x)      (column ``layermem``)
    Delta-LayerMem_l = LayerMem_l - LayerMem_{l-1}               (column ``delta_layermem``)

with l - 1 the scored tap just before l in the network's computation order (column ``depth``;
NaN for the first). At the headline tap LayerMem is the headline mean score of S_C. Because
each layer's score is divided by its own range, ``layermem_raw`` / ``delta_layermem_raw`` give
the same on the unnormalized m(x) (distances between unit vectors, so comparable across
layers). ``measure.extra_taps: all`` scores every tap of the model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mnemoscope.measure.alignment import resolve_tap
from mnemoscope.models import Network
from mnemoscope.studies.sslmem import tables
from mnemoscope.studies.sslmem.config import StatsConfig

SUBSETS = ("S_C", "S_S", "S_I", "S_E")


def expand_taps(network: Network, tap: str, extra_taps: list[str] | str) -> dict[str, str]:
    """Every tap scored -> the layer it reads: ``tap`` first, then ``extra_taps`` (``all``:
    every tap of ``network`` reading another layer than ``tap``, in computation order)."""
    headline = resolve_tap(network, tap)
    if extra_taps == "all":
        extra_taps = [name for name in network.tap_names if name != headline]
    return {name: resolve_tap(network, name) for name in [tap, *extra_taps]}


def taps_table(
    points: pd.DataFrame,
    alignments: dict[str, tuple[np.ndarray, np.ndarray]],
    center: str,
    config: StatsConfig,
    depth: dict[str, int] | None = None,
) -> pd.DataFrame:
    """One row per tap (in ``alignments`` order, the headline tap first): tap, mean_<subset>
    (normalized, estimate ``center``), t_statistic / p_value / effect_size of
    m(S_C) > m(S_S), and auroc_<kind> per planted kind. With ``depth`` (tap -> position of
    the layer it reads in the network) also LayerMem and Delta-LayerMem (module docstring):
    depth, layermem, delta_layermem, layermem_raw, delta_layermem_raw."""
    rows = []
    for tap, (align_f, align_g) in alignments.items():
        scores = tables.scores_table(points, align_f, align_g, [center])
        means = tables.subset_scores(scores, "score_norm")
        tests = tables.tests_table(scores, [center], config)
        key = tests[tests["hypothesis"] == "m(S_C) > m(S_S)"].iloc[0]
        row = {"tap": tap, **{f"mean_{subset}": float(means[subset].mean()) for subset in SUBSETS}}
        row.update(t_statistic=key["statistic"], p_value=key["p_value"],
                   effect_size=key["effect_size"])  # fmt: skip
        for planted in tables.planted_table(scores).itertuples():
            row[f"auroc_{planted.kind}"] = planted.auroc
        if depth is not None:
            row.update(depth=depth[tap], layermem=row["mean_S_C"],
                       layermem_raw=float(tables.subset_scores(scores, "score_raw")["S_C"].mean()))
        rows.append(row)
    table = pd.DataFrame(rows)
    if depth is not None:
        table["delta_layermem"] = deltas(table["depth"], table["layermem"])
        table["delta_layermem_raw"] = deltas(table["depth"], table["layermem_raw"])
    return table


def deltas(depth: pd.Series, values: pd.Series) -> np.ndarray:
    """Delta_l = value_l - value_{l-1}, l - 1 the deepest row shallower than l (NaN for the
    shallowest layer), in the rows' order."""
    depth, values = np.asarray(depth), np.asarray(values, dtype=np.float64)
    result = np.full(len(values), np.nan)
    for row in range(len(values)):
        shallower = np.flatnonzero(depth < depth[row])
        if shallower.size:
            result[row] = values[row] - values[shallower[np.argmax(depth[shallower])]]
    return result


def tap_label(tap: str, layer: str | None = None, separator: str = " ") -> str:
    """``tap`` with the layer it reads when the name does not say it: ``auto (layer4)``."""
    return tap if layer in (None, tap) else f"{tap}{separator}({layer})"


def labels(table: pd.DataFrame, separator: str = " ") -> list[str]:
    """``tap_label`` of every row (tables stored before the ``layer`` column: the tap)."""
    layers = table["layer"] if "layer" in table.columns else table["tap"]
    return [tap_label(tap, layer, separator)
            for tap, layer in zip(table["tap"], layers, strict=True)]  # fmt: skip


def headlines(table: pd.DataFrame) -> list[str]:
    """One line per row of ``taps_table``: the t-test m(S_C) > m(S_S) and the planted AUROCs."""
    lines = []
    for label, row in zip(labels(table), table.itertuples(index=False), strict=True):
        aurocs = ", ".join(f"{column.removeprefix('auroc_')} {getattr(row, column):.2f}"
                           for column in table.columns if column.startswith("auroc_"))  # fmt: skip
        noise = getattr(row, "reliability", None)
        lines.append(
            f"at tap {label}: m(S_C) > m(S_S) t = {row.t_statistic:.2f}, p = {row.p_value:.2g}"
            + (f"; planted AUROC {aurocs}" if aurocs else "")
            + (f"; per-image reliability {noise:.2f}" if noise is not None else "")
        )
    return lines


def layermem_headline(table: pd.DataFrame) -> str:
    """LayerMem from the shallowest to the deepest tap, and where it grows most."""
    ordered = table.sort_values("depth", kind="stable")
    names = labels(ordered)
    values = ", ".join(f"{name} {value:+.3f}"
                       for name, value in zip(names, ordered["layermem"], strict=True))  # fmt: skip
    line = f"LayerMem (mean normalized score of S_C) by depth: {values}"
    step = ordered["delta_layermem"].to_numpy()
    if np.isfinite(step).any():
        top = int(np.nanargmax(step))
        line += f"; largest Delta-LayerMem {step[top]:+.3f} at {names[top]}"
    return line


def draw_layermem(table: pd.DataFrame) -> Figure:
    """LayerMem and Delta-LayerMem per tap, in the network's order (normalized and raw)."""
    ordered = table.sort_values("depth", kind="stable")
    figure = Figure(figsize=(9, 3.4), layout="constrained")
    left, right = figure.subplots(1, 2)
    position = np.arange(len(ordered))
    ticks = labels(ordered, "\n")
    for axis, column, title in ((left, "layermem", "LayerMem"),
                                (right, "delta_layermem", "Delta-LayerMem")):  # fmt: skip
        axis.bar(position - 0.2, ordered[column].fillna(0), 0.4, label="normalized",
                 color="tab:red")  # fmt: skip
        twin = axis.twinx()
        twin.bar(position + 0.2, ordered[f"{column}_raw"].fillna(0), 0.4, label="raw m(x)",
                 color="tab:grey")  # fmt: skip
        twin.set_ylabel("raw m(x)", color="tab:grey")
        axis.axhline(0, color="black", linewidth=0.8)
        axis.set(xticks=position, xticklabels=ticks, ylabel=f"{title} (normalized)",
                 title=f"{title} per tap (mean over S_C)")  # fmt: skip
        axis.tick_params(axis="x", labelsize=7)
    left.legend(fontsize=8, loc="upper left")
    return figure


def draw_taps(table: pd.DataFrame) -> Figure:
    """Per tap: the t statistic of m(S_C) > m(S_S) and the planted AUROCs (0.5 = chance)."""
    figure = Figure(figsize=(9, 3.4), layout="constrained")
    left, right = figure.subplots(1, 2)
    position = np.arange(len(table))
    left.bar(position, table["t_statistic"], color="tab:blue")
    left.axhline(1.645, color="grey", linestyle="--", linewidth=1, label="one-sided p = 0.05")
    left.set(xticks=position, xticklabels=labels(table, "\n"), ylabel="t of m(S_C) > m(S_S)",
             title="candidates vs shared, per tap")  # fmt: skip
    left.legend(fontsize=8)
    kinds = [column for column in table.columns if column.startswith("auroc_")]
    width = 0.8 / max(1, len(kinds))
    for index, column in enumerate(kinds):
        right.bar(position + (index - (len(kinds) - 1) / 2) * width, table[column], width,
                  label=column.removeprefix("auroc_"))  # fmt: skip
    right.axhline(0.5, color="grey", linestyle="--", linewidth=1)
    right.set(xticks=position, xticklabels=labels(table, "\n"), ylim=(0, 1), ylabel="AUROC",
              title="planted vs ordinary candidates, per tap")  # fmt: skip
    if kinds:
        right.legend(fontsize=8)
    return figure
