"""The study's figures, redrawn from what ``run`` stored (tables, ``candidate_images``) and
nothing else: ``draw_figures(run_dir, classes)``.

* ``sslmem_fig1_most_memorized``: the most and least memorized candidates with labels
  (paper 002 fig. 1 / fig. 9);
* ``sslmem_fig8_feldman``: the top candidates by SSLMem and by Feldman's score (fig. 8);
* ``sslmem_fig2a_alignment``: L_align on f vs on g per candidate, coloured by score (fig. 2a);
* ``sslmem_fig2b_over_training``: score, loss and probe accuracy over epochs (fig. 2b);
* ``sslmem_fig2c_distributions``: score distributions per subset (fig. 2c);
* ``sslmem_fig5_threshold``: fraction of candidates above a threshold (fig. 5);
* ``sslmem_table1_methods``: SSLMem against probe accuracy per training (table 1), with
  ``compare`` variants;
* ``sslmem_fig4_lambda``: SSLMem and probe accuracy against the regularizer's lambda (fig. 4);
* ``sslmem_table13_agreement``: Kendall's tau between every pair of S_C rankings (table 13),
  with each pair's noise ceiling;
* ``sslmem_taps`` and ``sslmem_layermem``: the statistics and LayerMem per tap (``layers``);
* ``sslmem_unitmem`` and ``sslmem_unitmem_top``: UnitMem per layer and the images driving
  the most memorizing units (``units``).

``combined_figures(seed_dirs, out)`` draws a repeated study's ``seeds_sslmem_scores`` (mean score
per subset and planted AUROC per kind, one marker per study seed) and
``seeds_sslmem_distributions`` (fig. 2c's distributions, one panel per study seed).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mnemoscope.analysis.claims import AUROC_MARGIN
from mnemoscope.store import RunDir
from mnemoscope.studies.seedplots import points_per_seed
from mnemoscope.studies.sslmem import layers, units

SUBSET_COLOURS = {"S_C": "tab:red", "S_I": "tab:blue", "S_S": "tab:grey", "S_E": "tab:green"}
TOP = 10


def draw_figures(run_dir: RunDir | str | Path, classes: list[str]) -> list[Path]:
    """(Re)draw every figure from the stored results; returns the written paths. ``classes``:
    the dataset's class names (the summary's), which label the images."""
    run_dir = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
    scores = run_dir.load_table("sslmem_scores")
    candidates = scores[scores["subset"] == "S_C"].reset_index(drop=True)
    images = np.asarray(run_dir.load_array("candidate_images", mmap=False))
    written = [
        run_dir.save_figure(
            "sslmem_fig1_most_memorized", most_memorized(candidates, images, classes)
        ),  # fmt: skip
        run_dir.save_figure("sslmem_fig2a_alignment", alignment_scatter(candidates)),
        run_dir.save_figure("sslmem_fig2c_distributions", distributions(scores)),
        run_dir.save_figure("sslmem_fig5_threshold", threshold_curve(candidates)),
    ]
    if _has_table(run_dir, "sslmem_over_training"):
        table = run_dir.load_table("sslmem_over_training")
        written.append(run_dir.save_figure("sslmem_fig2b_over_training", over_training(table)))
    if _has_table(run_dir, "sslmem_feldman"):
        table = run_dir.load_table("sslmem_feldman")
        figure = feldman_tops(table, candidates, images, classes)
        written.append(run_dir.save_figure("sslmem_fig8_feldman", figure))
    if _has_table(run_dir, "sslmem_methods"):
        methods = run_dir.load_table("sslmem_methods")
        if len(methods) > 1:
            written.append(run_dir.save_figure("sslmem_table1_methods", methods_scatter(methods)))
        if (methods["group"] == "lambda").any():
            written.append(run_dir.save_figure("sslmem_fig4_lambda", lambda_sweep(methods)))
    if _has_table(run_dir, "sslmem_agreement"):
        figure = agreement_heatmap(run_dir.load_table("sslmem_agreement"))
        written.append(run_dir.save_figure("sslmem_table13_agreement", figure))
    if _has_table(run_dir, "sslmem_taps"):
        taps = run_dir.load_table("sslmem_taps")
        written.append(run_dir.save_figure("sslmem_taps", layers.draw_taps(taps)))
        if "delta_layermem" in taps.columns:
            written.append(run_dir.save_figure("sslmem_layermem", layers.draw_layermem(taps)))
    if _has_table(run_dir, "sslmem_unitmem"):
        per_unit = run_dir.load_table("sslmem_unitmem")
        written.append(run_dir.save_figure("sslmem_unitmem", units.draw_histograms(per_unit)))
        top = run_dir.load_table("sslmem_unitmem_top")
        top_images = np.asarray(run_dir.load_array("unitmem_top_images", mmap=False))
        figure = units.draw_top_images(top, top_images)
        written.append(run_dir.save_figure("sslmem_unitmem_top", figure))
    return written


def _has_table(run_dir: RunDir, name: str) -> bool:
    return (run_dir.path / "tables" / f"{name}.parquet").exists()


def _caption(row, classes: list[str]) -> str:
    if row.kind != "ordinary":
        return row.kind.replace("_", " ")
    return classes[row.label] if 0 <= row.label < len(classes) else str(row.label)


def _show(axis, image: np.ndarray, title: str) -> None:
    picture = image.transpose(1, 2, 0)
    axis.imshow(picture.squeeze(-1) if picture.shape[-1] == 1 else picture, cmap="gray",
                vmin=0, vmax=255)  # fmt: skip
    axis.set_title(title, fontsize=7)
    axis.axis("off")


def _image_rows(rows: list[tuple[str, pd.DataFrame, str]], images, classes) -> Figure:
    """One row of images per (row name, ordered frame with a ``position`` column, score column
    shown under each image)."""
    width = max(len(frame) for _, frame, _ in rows)
    figure = Figure(figsize=(1.3 * width, 1.6 * len(rows)), layout="constrained")
    axes = figure.subplots(len(rows), width, squeeze=False)
    for r, (name, frame, column) in enumerate(rows):
        for c in range(width):
            axes[r, c].axis("off")
        for c, row in enumerate(frame.itertuples()):
            _show(axes[r, c], images[row.position],
                  f"{_caption(row, classes)}\n{getattr(row, column):+.3f}")  # fmt: skip
        axes[r, 0].text(-0.1, 0.5, name, transform=axes[r, 0].transAxes, ha="right",
                        va="center", fontsize=8, rotation=90)  # fmt: skip
    return figure


def most_memorized(candidates: pd.DataFrame, images, classes: list[str]) -> Figure:
    ranked = candidates.assign(position=np.arange(len(candidates)))
    ranked = ranked.sort_values("score_norm", ascending=False, kind="stable")
    rows = [("most memorized", ranked.head(TOP), "score_norm"),
            ("least memorized", ranked.tail(TOP)[::-1], "score_norm")]  # fmt: skip
    figure = _image_rows(rows, images, classes)
    figure.suptitle("SSLMem: candidates S_C by memorization score (normalized)", fontsize=9)
    return figure


def feldman_tops(table: pd.DataFrame, candidates: pd.DataFrame, images, classes) -> Figure:
    """Top candidates by each score of the ``sslmem_feldman`` table (ordinary candidates; their
    images are found by id among the stored candidate images)."""
    ordinary = candidates[candidates["kind"] == "ordinary"]
    position = dict(zip(ordinary["id"].astype(int), ordinary.index, strict=True))
    frame = table.assign(position=table["id"].astype(int).map(position), kind="ordinary")
    rows = [
        (column, frame.sort_values(column, ascending=False, kind="stable").head(TOP), column)
        for column in ("sslmem", "feldman", "sslmem_supervised")
    ]
    figure = _image_rows(rows, images, classes)
    figure.suptitle("Most memorized candidates: SSLMem (SSL encoders), Feldman (supervised), "
                    "SSLMem of the supervised encoders", fontsize=9)  # fmt: skip
    return figure


def alignment_scatter(candidates: pd.DataFrame) -> Figure:
    figure = Figure(figsize=(5, 4.4), layout="constrained")
    axis = figure.subplots()
    points = axis.scatter(candidates["align_f"], candidates["align_g"], c=candidates["score_norm"],
                          cmap="viridis", s=9)  # fmt: skip
    low = float(min(candidates["align_f"].min(), candidates["align_g"].min()))
    high = float(max(candidates["align_f"].max(), candidates["align_g"].max()))
    axis.plot([low, high], [low, high], color="black", linewidth=0.8, linestyle="--")
    axis.set_xlabel("alignment loss on f (trained on S_C)")
    axis.set_ylabel("alignment loss on g (not trained on S_C)")
    axis.set_title("Candidates: L_align(f) vs L_align(g) (eq. 1)", fontsize=9)
    figure.colorbar(points, ax=axis, label="memorization score")
    return figure


def distributions(scores: pd.DataFrame) -> Figure:
    figure = Figure(figsize=(6, 4), layout="constrained")
    axis = figure.subplots()
    ordinary = scores[scores["kind"] == "ordinary"]
    bins = np.linspace(scores["score_norm"].min(), scores["score_norm"].max(), 41)
    for subset, colour in SUBSET_COLOURS.items():
        values = ordinary.loc[ordinary["subset"] == subset, "score_norm"]
        axis.hist(values, bins=bins, histtype="step", color=colour, linewidth=1.4,
                  label=f"{subset} (mean {values.mean():+.3f})")  # fmt: skip
    for kind in scores.loc[scores["kind"] != "ordinary", "kind"].unique():
        values = scores.loc[scores["kind"] == kind, "score_norm"]
        axis.hist(values, bins=bins, histtype="step", linestyle="--", linewidth=1.0,
                  label=f"planted {kind} (mean {values.mean():+.3f})")  # fmt: skip
    axis.axvline(0, color="black", linewidth=0.6)
    axis.set_xlabel("memorization score (normalized)")
    axis.set_ylabel("points")
    axis.legend(fontsize=7)
    axis.set_title("Scores per subset (fig. 2c)", fontsize=9)
    return figure


def threshold_curve(candidates: pd.DataFrame) -> Figure:
    values = candidates.loc[candidates["kind"] == "ordinary", "score_norm"].to_numpy()
    thresholds = np.linspace(0, max(float(values.max()), 1e-9), 101)
    fraction = (values[None, :] >= thresholds[:, None]).mean(axis=1)
    figure = Figure(figsize=(5, 3.6), layout="constrained")
    axis = figure.subplots()
    axis.plot(thresholds, fraction)
    axis.set_xlabel("memorization threshold (normalized score)")
    axis.set_ylabel("fraction of candidates memorized")
    axis.set_title("Candidates above a memorization threshold (fig. 5)", fontsize=9)
    return figure


def over_training(table: pd.DataFrame) -> Figure:
    figure = Figure(figsize=(11, 3.4), layout="constrained")
    score_axis, loss_axis, accuracy_axis = figure.subplots(1, 3)
    score_axis.plot(table["epoch"], table["score_mean"], marker="o", label="candidates S_C")
    score_axis.plot(table["epoch"], table["score_top"], marker="o", label="most memorized S_C")
    score_axis.plot(table["epoch"], table["score_shared_mean"], marker="o", color="tab:grey",
                    label="shared S_S")  # fmt: skip
    score_axis.set_ylabel("memorization score (normalized)")
    score_axis.legend(fontsize=7)
    loss_axis.plot(table["epoch"], table["loss"], marker="o", color="tab:orange")
    loss_axis.set_ylabel("training loss (f)")
    accuracy_axis.plot(table["epoch"], table["probe_accuracy"], marker="o", color="tab:green")
    accuracy_axis.set_ylabel("probe accuracy (f, test set)")
    for axis in (score_axis, loss_axis, accuracy_axis):
        axis.set_xlabel("epoch")
    figure.suptitle("Memorization, loss and accuracy over training (fig. 2b)", fontsize=9)
    return figure


def methods_scatter(methods: pd.DataFrame) -> Figure:
    """Table 1 as a picture: mean SSLMem of S_C (+- over seeds) against probe accuracy."""
    figure = Figure(figsize=(5.6, 4.2), layout="constrained")
    axis = figure.subplots()
    for row in methods.itertuples():
        axis.errorbar(row.probe_accuracy, row.score_norm_mean, yerr=row.score_norm_seed_std,
                      xerr=row.probe_accuracy_seed_std, marker="o", capsize=3,
                      label=f"{row.variant} ({row.method}, {row.architecture})")  # fmt: skip
    axis.legend(fontsize=7)
    axis.set_xlabel(f"{methods['probe'].iloc[0]} probe accuracy of f (test set)")
    axis.set_ylabel("mean SSLMem of S_C (normalized)")
    axis.set_title("Memorization vs downstream accuracy per training (table 1)", fontsize=9)
    return figure


def lambda_sweep(methods: pd.DataFrame) -> Figure:
    """Fig. 4: the base and its ``lambda`` variants (one point per lambda)."""
    sweep = methods[methods["group"].isin(["base", "lambda"])]
    sweep = sweep.sort_values("alignment_lambda", kind="stable")
    sweep = sweep.drop_duplicates("alignment_lambda")
    figure = Figure(figsize=(9, 3.4), layout="constrained")
    score_axis, accuracy_axis = figure.subplots(1, 2, sharex=True)
    score_axis.errorbar(sweep["alignment_lambda"], sweep["score_norm_mean"],
                        yerr=sweep["score_norm_seed_std"], marker="o", capsize=3)  # fmt: skip
    score_axis.set_ylabel("mean SSLMem of S_C (normalized)")
    accuracy_axis.errorbar(sweep["alignment_lambda"], sweep["probe_accuracy"],
                           yerr=sweep["probe_accuracy_seed_std"], marker="o", capsize=3,
                           color="tab:green")  # fmt: skip
    accuracy_axis.set_ylabel(f"{sweep['probe'].iloc[0]} probe accuracy of f")
    for axis in (score_axis, accuracy_axis):
        axis.set_xlabel("alignment regularizer lambda (eq. 3)")
    figure.suptitle("Limiting alignment: memorization and accuracy against lambda (fig. 4)",
                    fontsize=9)  # fmt: skip
    return figure


def agreement_heatmap(agreement: pd.DataFrame) -> Figure:
    """Table 13: Kendall's tau over all candidates (the k = n row of each pair), p and the
    noise ceiling (tables stored with one) below."""
    overall = agreement.groupby(["a", "b"], sort=False).tail(1)
    names = list(dict.fromkeys([*overall["a"], *overall["b"]]))
    index = {name: i for i, name in enumerate(names)}
    tau = np.eye(len(names))
    p_value = np.zeros((len(names), len(names)))
    ceiling = np.full((len(names), len(names)), np.nan)
    for row in overall.itertuples():
        i, j = index[row.a], index[row.b]
        tau[i, j] = tau[j, i] = row.tau
        p_value[i, j] = p_value[j, i] = row.p_value
        ceiling[i, j] = ceiling[j, i] = getattr(row, "tau_ceiling", np.nan)
    size = 1.6 + 0.9 * len(names)
    figure = Figure(figsize=(size + 1.2, size), layout="constrained")
    axis = figure.subplots()
    image = axis.imshow(tau, cmap="viridis", vmin=min(0.0, float(tau.min())), vmax=1.0)
    for i in range(len(names)):
        for j in range(len(names)):
            text = "1" if i == j else f"{tau[i, j]:.2f}\np={p_value[i, j]:.1g}"
            if i != j and not np.isnan(ceiling[i, j]):
                text += f"\nmax {ceiling[i, j]:.2f}"
            colour = "black" if tau[i, j] > 0.6 else "white"
            axis.text(j, i, text, ha="center", va="center", fontsize=7, color=colour)
    axis.set_xticks(range(len(names)), names, rotation=35, ha="right", fontsize=8)
    axis.set_yticks(range(len(names)), names, fontsize=8)
    figure.colorbar(image, ax=axis, label="Kendall tau")
    title = "Agreement of the S_C memorization rankings (table 13)"
    if not np.isnan(ceiling).all():
        title += "\nmax = noise ceiling of the pair (view noise of both scores)"
    axis.set_title(title, fontsize=9)
    return figure


# -- a repeated study: its study seeds together ------------------------------------------------

SUBSETS = list(SUBSET_COLOURS)


def combined_figures(seed_dirs: Mapping[int, Path], out: RunDir) -> list[Path]:
    """The figures of a repeated study (``Study.combined_figures``) from each study seed's
    ``summary.json`` and ``tables/sslmem_scores``: ``seeds_sslmem_scores`` (mean score per subset
    and planted AUROC per kind, one marker per seed) and ``seeds_sslmem_distributions`` (the
    score distribution per subset, one panel per seed)."""
    summaries, scores = {}, {}
    for k, path in seed_dirs.items():
        summary_path, scores_path = (Path(path) / "summary.json",
                                     Path(path) / "tables" / "sslmem_scores.parquet")  # fmt: skip
        if summary_path.exists():
            summaries[k] = json.loads(summary_path.read_text())
        if scores_path.exists():
            scores[k] = pd.read_parquet(scores_path)
    written = []
    if summaries:
        written.append(out.save_figure("seeds_sslmem_scores", scores_per_seed(summaries)))
    if scores:
        centers = {k: summaries.get(k, {}).get("center", "plain") for k in scores}
        figure = distributions_per_seed(scores, centers)
        written.append(out.save_figure("seeds_sslmem_distributions", figure))
    return written


def _column(center: str) -> str:
    return "score_norm" if center == "plain" else f"score_norm_{center}"


def scores_per_seed(summaries: Mapping[int, dict]) -> Figure:
    """Left: each subset's mean normalized score minus that of the shared images S_S, at the
    headline estimate (table 2: S_C above 0 is memorized; the difference, since the scale of
    the normalized score moves from seed to seed); right: the AUROC of each planted kind against
    the ordinary candidates (figs. 1, 9; 0.5 = chance, the band the claim's margin); one marker
    per study seed, a bar at their mean."""
    kinds = list(dict.fromkeys(kind for s in summaries.values() for kind in s["planted_auroc"]))
    figure = Figure(figsize=(9 if kinds else 5, 3.8), layout="constrained")
    axes = figure.subplots(1, 2 if kinds else 1, squeeze=False)[0]
    others = [subset for subset in SUBSETS if subset != "S_S"]
    relative = {}
    for k, summary in summaries.items():
        means = summary["mean_score"].get(summary["center"], {})
        shared = means.get("S_S")
        relative[k] = {subset: means[subset] - shared for subset in others
                       if shared is not None and means.get(subset) is not None}  # fmt: skip
    points_per_seed(axes[0], others, relative)
    centers = sorted({s["center"] for s in summaries.values()})
    axes[0].axhline(0, color="black", linewidth=0.6)
    axes[0].set(ylabel=f"mean score - mean score of S_S ({', '.join(centers)})",
                title="Subsets against the shared images S_S (table 2)")  # fmt: skip
    axes[0].legend(fontsize=7)
    if kinds:
        aurocs = {k: s["planted_auroc"] for k, s in summaries.items()}
        axis = axes[1]
        axis.axhspan(0.5 - AUROC_MARGIN, 0.5 + AUROC_MARGIN, color="0.92", zorder=0,
                     label="chance +- margin")  # fmt: skip
        axis.axhline(0.5, color="0.5", linewidth=0.8, linestyle=":")
        points_per_seed(axis, kinds, aurocs, label=False)
        axis.set_xticks(range(len(kinds)), [kind.replace("_", " ") for kind in kinds])
        axis.set(ylim=(0, 1), ylabel="AUROC against ordinary candidates",
                 title="Planted atypical images found (figs. 1, 9)")  # fmt: skip
        axis.legend(fontsize=7, loc="lower right")
    figure.suptitle(f"SSLMem over {len(summaries)} study seeds (one marker per seed, bar: mean)",
                    fontsize=10)  # fmt: skip
    return figure


def distributions_per_seed(scores: Mapping[int, pd.DataFrame], centers: Mapping[int, str]
                           ) -> Figure:  # fmt: skip
    """Fig. 2c over study seeds, one panel per seed on a shared axis: the empirical
    distribution (ECDF) of the normalized score of each subset's ordinary images."""
    figure = Figure(figsize=(3.2 * len(scores), 3.4), layout="constrained")
    axes = figure.subplots(1, len(scores), sharex=True, sharey=True, squeeze=False)[0]
    for axis, (k, table) in zip(axes, scores.items(), strict=True):
        column = _column(centers[k])
        ordinary = table[table["kind"] == "ordinary"] if column in table else table.iloc[:0]
        for subset, colour in SUBSET_COLOURS.items():
            values = np.sort(ordinary.loc[ordinary["subset"] == subset, column].to_numpy())
            if values.size:
                fraction = np.arange(1, values.size + 1) / values.size
                axis.step(values, fraction, where="post", color=colour, linewidth=1.2,
                          label=subset)  # fmt: skip
        axis.axvline(0, color="black", linewidth=0.6)
        axis.set(title=f"study seed {k} ({centers[k]})", xlabel="normalized score",
                 ylim=(0, 1.01))  # fmt: skip
    axes[0].set_ylabel("fraction of the subset at or below")
    axes[0].legend(fontsize=7, loc="lower right")
    figure.suptitle("Scores per subset at each study seed (fig. 2c; further right = more "
                    "memorized)", fontsize=10)  # fmt: skip
    return figure
