"""The atlas's figures, redrawn from what ``run`` stored (tables, ``candidate_images``,
``config.yaml``) and nothing else: ``draw_figures(run_dir)``.

* ``atlas_agreement``: Spearman's rho of every pair of scores over the ordinary candidates
  (below the diagonal) beside its noise ceiling from the two reliabilities (above);
* ``atlas_reliability``: each score's reliability against the number of models, measured
  (subsets of k models) and predicted by Spearman-Brown from all K, one panel per method;
* ``atlas_detection``: AUROC of every score for every planted kind against the ordinary
  candidates;
* ``atlas_roc``: LiRA's ROC curves on log axes, per method and variant;
* ``atlas_disagreement``: the candidates two scores rank most differently (the report shows
  them as a gallery).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mnemoscope.config_file import read_config
from mnemoscope.store import RunDir
from mnemoscope.studies.atlas.pool import ORDINARY


def draw_figures(run_dir: RunDir | str | Path) -> list[Path]:
    """(Re)draw every figure from the stored tables; returns the written paths."""
    run_dir = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
    reliability = run_dir.load_table("atlas_reliability")
    written = [
        run_dir.save_figure("atlas_agreement",
                            agreement_map(run_dir.load_table("atlas_agreement"), reliability)),
        run_dir.save_figure("atlas_reliability", reliability_curves(
            run_dir.load_table("atlas_reliability_curve"), reliability)),
        run_dir.save_figure("atlas_detection", detection_map(run_dir.load_table(
            "atlas_detection"), list(reliability["score"]))),
    ]  # fmt: skip
    roc = run_dir.load_table("atlas_roc")
    if len(roc):
        membership = run_dir.load_table("atlas_membership")
        written.append(run_dir.save_figure("atlas_roc", roc_curves(roc, membership)))
    scores = run_dir.load_table("atlas_scores")
    pair = gallery_pair(read_config(run_dir.path / "config.yaml"), list(reliability["score"]))
    if pair is not None:
        images = np.asarray(run_dir.load_array("candidate_images", mmap=False))
        size = int(read_config(run_dir.path / "config.yaml").get("stats", {}).get(
            "gallery_size", 8))  # fmt: skip
        written.append(
            run_dir.save_figure(
                "atlas_disagreement", disagreement_figure(scores, images, pair, size)
            )
        )
    return written


def gallery_pair(config: dict, names: list[str]) -> tuple[str, str] | None:
    """The two scores of the disagreement gallery: ``stats.gallery``, else the first
    SSLMem and the first Feldman score, else the first two scores (None: fewer than two)."""
    chosen = (config.get("stats") or {}).get("gallery")
    if chosen:
        return chosen[0], chosen[1]
    sslmem = [name for name in names if name.endswith("_sslmem")]
    feldman = [name for name in names if name.endswith("_feldman")]
    if sslmem and feldman:
        return sslmem[0], feldman[0]
    return (names[0], names[1]) if len(names) >= 2 else None


def disagreement(scores: pd.DataFrame, pair: tuple[str, str], size: int) -> dict[str, pd.DataFrame]:
    """The ordinary candidates ranked highest by one score of ``pair`` and lowest by the other:
    the rank difference (percentile under a minus percentile under b), largest first, each
    direction; rows of ``scores`` with ``gap`` added."""
    a, b = pair
    ordinary = scores[(scores["kind"] == ORDINARY) & scores[a].notna() & scores[b].notna()]
    gap = ordinary[a].rank(pct=True) - ordinary[b].rank(pct=True)
    ranked = ordinary.assign(gap=gap).sort_values("gap", ascending=False, kind="stable")
    return {f"high {a}, low {b}": ranked.head(size), f"high {b}, low {a}": ranked.tail(size)[::-1]}


def disagreement_figure(
    scores: pd.DataFrame, images: np.ndarray, pair: tuple[str, str], size: int
) -> Figure:
    """One row of images per direction of ``disagreement``, the rank difference over each."""
    parts = disagreement(scores, pair, size)
    figure = Figure(figsize=(max(6.0, 1.1 * size), 3.8), layout="constrained")
    for row, (title, part) in zip(figure.subfigures(2, 1), parts.items(), strict=True):
        row.suptitle(title, fontsize=8)
        axes = row.subplots(1, size, squeeze=False)[0]
        for column, axis in enumerate(axes):
            axis.axis("off")
            if column >= len(part):
                continue
            entry = part.iloc[column]
            picture = images[int(entry["position"])].transpose(1, 2, 0)
            grey = picture.shape[-1] == 1
            axis.imshow(picture[..., 0] if grey else picture, cmap="gray" if grey else None,
                        vmin=0, vmax=255)  # fmt: skip
            axis.set_title(f"{entry['gap']:+.2f}", fontsize=7)
    return figure


def _short(name: str) -> str:
    return name.replace("_", " ")


def agreement_map(agreement: pd.DataFrame, reliability: pd.DataFrame) -> Figure:
    """Spearman's rho below the diagonal, its noise ceiling above; reliability on it."""
    names = list(reliability["score"])
    index = {name: i for i, name in enumerate(names)}
    matrix = np.full((len(names), len(names)), np.nan)
    for row in agreement.itertuples():
        i, j = sorted((index[row.a], index[row.b]))
        matrix[j, i] = row.spearman
        matrix[i, j] = row.spearman_ceiling
    np.fill_diagonal(matrix, reliability["reliability_both"].to_numpy())
    side = max(4.0, 0.42 * len(names) + 2)
    figure = Figure(figsize=(side + 1, side), layout="constrained")
    axis = figure.subplots()
    shown = axis.imshow(matrix, cmap="RdBu_r", vmin=-1, vmax=1)
    figure.colorbar(shown, ax=axis, shrink=0.7)
    axis.set_xticks(range(len(names)), [_short(n) for n in names], rotation=90, fontsize=6)
    axis.set_yticks(range(len(names)), [_short(n) for n in names], fontsize=6)
    if len(names) <= 16:
        _cell_values(axis, matrix)
    axis.set_title("Spearman rho over the ordinary candidates (below the diagonal), its noise "
                   "ceiling (above), each score's reliability (diagonal)", fontsize=8)  # fmt: skip
    return figure


def _cell_values(axis: Any, matrix: np.ndarray) -> None:
    """Each finite cell's value, two decimals, in the cell of a heatmap."""
    for (i, j), value in np.ndenumerate(matrix):
        if np.isfinite(value):
            axis.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=5)


def reliability_curves(curves: pd.DataFrame, reliability: pd.DataFrame) -> Figure:
    """Per method, each score's measured reliability at k models (mean over subsets, bars: min
    to max) and the Spearman-Brown prediction from K (dashed); the target as a line."""
    methods = list(dict.fromkeys(reliability["method"]))
    figure = Figure(figsize=(5.2 * len(methods), 4.2), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(methods), squeeze=False)[0])
    target = float(reliability["target"].iloc[0]) if len(reliability) else 0.8
    for axis, method in zip(axes, methods, strict=True):
        part = curves[curves["method"] == method]
        for position, (score, group) in enumerate(part.groupby("score", sort=False)):
            colour = f"C{position % 10}"
            measured = group.dropna(subset=["reliability"])
            axis.errorbar(measured["k"], measured["reliability"],
                          yerr=[measured["reliability"] - measured["low"],
                                measured["high"] - measured["reliability"]],
                          color=colour, marker="o", markersize=3, linewidth=1, capsize=2,
                          label=_short(score.removeprefix(f"{method}_")))  # fmt: skip
            axis.plot(group["k"], group["predicted"], color=colour, linestyle="--", linewidth=0.8)
        axis.axhline(target, color="black", linewidth=0.6, linestyle=":")
        axis.set_ylim(-0.2, 1.02)
        axis.set_xlabel("models k (half of them IN for each image)")
        axis.set_ylabel("split-half reliability (Spearman-Brown)")
        axis.set_title(f"{method}: measured (solid) and predicted from K (dashed)", fontsize=8)
        axis.legend(fontsize=6, ncol=2)
    return figure


def detection_map(detection: pd.DataFrame, order: list[str]) -> Figure:
    """AUROC per score (rows) and planted kind (columns), with its interval in the cell when
    there is room; blank: the kind does not apply (mislabeled for an SSL method)."""
    kinds = list(dict.fromkeys(detection["kind"]))
    names = [name for name in order if name in set(detection["score"])]
    matrix = np.full((len(names), len(kinds)), np.nan)
    for row in detection.itertuples():
        matrix[names.index(row.score), kinds.index(row.kind)] = row.auroc
    figure = Figure(figsize=(1.1 * len(kinds) + 3, 0.3 * len(names) + 1.6), layout="constrained")
    axis = figure.subplots()
    shown = axis.imshow(matrix, cmap="RdBu_r", vmin=0, vmax=1, aspect="auto")
    figure.colorbar(shown, ax=axis, shrink=0.8, label="AUROC (0.5 = chance)")
    axis.set_xticks(range(len(kinds)), [_short(k) for k in kinds], rotation=30, fontsize=7)
    axis.set_yticks(range(len(names)), [_short(n) for n in names], fontsize=6)
    _cell_values(axis, matrix)
    axis.set_title("Which score finds which planted kind: AUROC against the ordinary "
                   "candidates", fontsize=8)  # fmt: skip
    return figure


def roc_curves(roc: pd.DataFrame, membership: pd.DataFrame) -> Figure:
    """LiRA's ROC per method and variant on log axes, with the AUC and the TPR at 0.1 % FPR."""
    methods = list(dict.fromkeys(roc["method"]))
    figure = Figure(figsize=(4.4 * len(methods), 4.0), layout="constrained")
    axes = figure.subplots(1, len(methods), squeeze=False)[0]
    for axis, method in zip(axes, methods, strict=True):
        for position, (score, group) in enumerate(roc[roc["method"] == method].groupby(
                "score", sort=False)):  # fmt: skip
            row = membership[membership["score"] == score].iloc[0]
            shown = group[group["fpr"] > 0]
            axis.step(shown["fpr"], np.maximum(shown["tpr"], 1e-5), where="post",
                      color=f"C{position}", label=f"{row['variant']}: AUC {row['auc']:.2f}, "
                      f"TPR {row['tpr_at_0.1%']:.3f} at 0.1%")  # fmt: skip
        grid = np.logspace(-5, 0, 50)
        axis.plot(grid, grid, color="grey", linestyle=":", linewidth=0.8)
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlim(1e-4, 1)
        axis.set_ylim(1e-4, 1)
        axis.set_xlabel("false positive rate")
        axis.set_ylabel("true positive rate")
        axis.set_title(f"LiRA on {method} (every model the target once)", fontsize=8)
        axis.legend(fontsize=6, loc="lower right")
    return figure
