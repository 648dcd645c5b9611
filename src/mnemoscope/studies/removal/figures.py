"""The study's figures, redrawn from its stored tables only: ``draw_figures(run_dir)``.

* ``sslmem_removal_fig3``: linear-probe accuracy against the number of candidates removed,
  top-k (red) and random-k (grey), one panel per downstream set, f itself dashed (paper 002
  fig. 3, figs. 6-7);
* ``sslmem_coreset_table17``: the same against the number of candidates kept, f itself
  (all of its training set) dashed (table 17).

Points are means; error bars one standard deviation over seeds (top) and over seeds and draws
(random).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from mnemoscope.store import RunDir

STYLE = {"top": ("tab:red", "top-k memorized"), "random": ("tab:grey", "random k")}
# table -> (column naming the choice, f's own value there, x label, figure)
FIGURES = {
    "sslmem_removal": ("removed", "none", "candidates removed", "sslmem_removal_fig3"),
    "sslmem_coreset": ("kept", "all", "candidates kept", "sslmem_coreset_table17"),
}


def draw_figures(run_dir: RunDir | str | Path) -> list[Path]:
    run_dir = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
    written = []
    for table_name, (column, reference, xlabel, figure_name) in FIGURES.items():
        if (run_dir.path / "tables" / f"{table_name}.parquet").exists():
            table = run_dir.load_table(table_name)
            figure = accuracy_panels(table, column, reference, xlabel)
            written.append(run_dir.save_figure(figure_name, figure))
    return written


def accuracy_panels(table: pd.DataFrame, column: str, reference: str, xlabel: str) -> Figure:
    downstreams = list(dict.fromkeys(table["downstream"]))
    figure = Figure(figsize=(3.6 * len(downstreams), 3.2), layout="constrained")
    axes = figure.subplots(1, len(downstreams), squeeze=False)[0]
    for ax, downstream in zip(axes, downstreams, strict=True):
        of_set = table[table["downstream"] == downstream]
        for chosen, (colour, label) in STYLE.items():
            rows = of_set[of_set[column] == chosen]
            if rows.empty:
                continue
            summary = rows.groupby("k")["accuracy"].agg(["mean", "std"]).reset_index()
            ax.errorbar(summary["k"], 100 * summary["mean"], yerr=100 * summary["std"].fillna(0),
                        marker="o", capsize=3, color=colour, label=label)  # fmt: skip
        base = of_set[of_set[column] == reference]
        if not base.empty:
            ax.axhline(100 * base["accuracy"].mean(), color="black", linestyle="--",
                       linewidth=1, label=f"f ({reference})")  # fmt: skip
        ax.set_title(str(downstream))
        ax.set_xlabel(xlabel)
        ax.set_ylabel("linear-probe accuracy (%)")
    axes[0].legend(fontsize="small")
    return figure
