"""Which layer memorizes: the study's statistics at more taps than the headline one.

Appendix A scores "the full representations returned by the encoders"; where in the network
memorization shows is a question of its own (the projector output is what the SSL loss
aligns, the pooled embedding what a linear probe reads). ``measure.extra_taps`` scores those
taps with the very same views as the headline tap, and ``taps_table`` puts, per tap, the
headline statistics side by side: mean normalized score per subset, the t-test
m(S_C) > m(S_S) and the AUROC of each planted kind. The study adds the layer each tap reads
(``auto`` -> ``layer4`` on a convnet).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mnemoscope.studies.sslmem import tables
from mnemoscope.studies.sslmem.config import StatsConfig

SUBSETS = ("S_C", "S_S", "S_I", "S_E")


def taps_table(
    points: pd.DataFrame,
    alignments: dict[str, tuple[np.ndarray, np.ndarray]],
    center: str,
    config: StatsConfig,
) -> pd.DataFrame:
    """One row per tap (in ``alignments`` order, the headline tap first): tap, mean_<subset>
    (normalized, estimate ``center``), t_statistic / p_value / effect_size of
    m(S_C) > m(S_S), and auroc_<kind> per planted kind."""
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
        rows.append(row)
    return pd.DataFrame(rows)


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
