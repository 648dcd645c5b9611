"""The study's figure, redrawn from its stored tables only: ``draw_figures(run_dir)``.

* ``sslmem_dejavu_table4``: per method, SSLMem, Déjà Vu and probe accuracy with their spread
  over seeds (paper 002 table 4), and the share of A's images in each of Meehan et al.'s groups.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from mnemoscope.measure.dejavu import GROUPS
from mnemoscope.store import RunDir

GROUP_COLOURS = {"memorized": "tab:red", "correlated": "tab:green",
                 "misrepresented": "tab:orange", "unassociated": "tab:grey"}  # fmt: skip


def draw_figures(run_dir: RunDir | str | Path) -> list[Path]:
    """(Re)draw the figure from ``tables/sslmem_dejavu``; returns the written paths."""
    run_dir = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
    table = run_dir.load_table("sslmem_dejavu")
    return [run_dir.save_figure("sslmem_dejavu_table4", table4(table))]


def table4(table) -> Figure:
    """Bars per method: SSLMem, Déjà Vu (A's accuracy minus B's) and probe accuracy, error bars
    one standard deviation over seeds; then the groups of A's scored images."""
    figure = Figure(figsize=(12, 3.4), layout="constrained")
    axes = figure.subplots(1, 4)
    x = np.arange(len(table))
    names = [str(name) for name in table["method"]]
    probe = f"{table['probe'].iloc[0]} probe accuracy of A (%)"
    panels = (("sslmem", "SSLMem of A's images (normalized)", 1.0),
              ("dejavu", "Déjà Vu gap (% of A's images)", 100.0),
              ("probe_accuracy", probe, 100.0))  # fmt: skip
    for axis, (column, label, factor) in zip(axes, panels, strict=False):
        spread = np.nan_to_num(table[f"{column}_seed_std"].to_numpy() * factor)
        axis.bar(x, table[column] * factor, yerr=spread, capsize=3, color="tab:blue")
        axis.set_ylabel(label, fontsize=8)
    bottom = np.zeros(len(table))
    for group in GROUPS:
        share = table[f"fraction_{group}"].to_numpy() * 100
        axes[3].bar(x, share, bottom=bottom, color=GROUP_COLOURS[group], label=group)
        bottom += share
    axes[3].set_ylabel("A's scored images (%)", fontsize=8)
    axes[3].legend(fontsize=7)
    for axis in axes:
        axis.set_xticks(x, names, rotation=30, fontsize=8)
        axis.axhline(0, color="black", linewidth=0.6)
    figure.suptitle("SSLMem and Déjà Vu memorization per method (paper 002 table 4; error bars: "
                    "one standard deviation over seeds)", fontsize=9)  # fmt: skip
    return figure
