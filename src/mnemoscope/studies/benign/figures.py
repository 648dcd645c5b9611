"""The study's figures, redrawn from its stored tables only.

``draw_figures(run_dir, chance)`` reads ``tables/benign_*.parquet`` and writes:

* ``benign_fig4_probes``: clean (dashed) and noisy (solid) kNN probes across taps at each
  measured epoch, one panel per setting (fig. 4, table 1);
* ``benign_fig7_invariance``: normalized invariance (eq. 2) per tap over epochs with the
  embedding's kNN error (fig. 7 left), and the final embedding invariance per setting (right);
* ``benign_training``: fit accuracy on the unaugmented training images and training loss;
* one figure per sweep that ran: ``benign_fig6_banks``, ``benign_table3_iid``,
  ``benign_fig9_num_classes``, ``benign_fig11_13_label_noise``, ``benign_fig8_projector``,
  ``benign_fig12_randaugment``, ``benign_fig10_transfer``;
* ``benign_fig14_toy``: heatmap of the toy model's test kNN over (n, B) (fig. 14).

``combined_figures(seed_dirs, out)`` draws a repeated study's ``seeds_fig4_probes``: fig. 4's
probes per layer at the last epoch, the mean over study seeds with a band over them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mnemoscope.store import RunDir
from mnemoscope.studies.benign.config import SETTINGS, TAPS

SHORT = {
    "layer1": "L1",
    "layer2": "L2",
    "layer3": "L3",
    "layer4": "L4",
    "embedding": "E",
    "projector_hidden": "P",
    "output": "O",
}


def draw_figures(run_dir: RunDir | str | Path, chance: float) -> list[Path]:
    """Draw every figure whose tables exist in ``run_dir``; returns the written paths.
    ``chance``: the accuracy of guessing (1 / classes), drawn as a line."""
    store = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
    written = []
    for name, draw, needed in FIGURES:
        if not all((store.path / "tables" / f"{table}.parquet").exists() for table in needed):
            continue  # the sweep did not run
        figure = draw(
            *[store.load_table(table) for table in needed], chance=chance
        )
        written.append(store.save_figure(name, figure))
    return written


def _order_settings(settings) -> list[str]:
    """init first, then table 2's order (random+da, random, clean+da, clean)."""
    present = set(settings)
    return [s for s in ("init", *SETTINGS) if s in present]


def _order_taps(taps) -> list[str]:
    return [tap for tap in TAPS if tap in set(taps)]


def _chance_line(axis, chance: float) -> None:
    if math.isfinite(chance):
        axis.axhline(chance, color="0.6", linestyle=":", linewidth=1, label="chance")


def _setting_panels(probes: pd.DataFrame) -> tuple[list[str], list[str], Figure, np.ndarray, int]:
    """Fig. 4's layout: one panel per trained setting of ``probes`` (taps in depth order), two
    a row so that the figure stays readable when a report scales it to a page's width; the
    settings, taps, figure, panels (unused ones hidden) and columns."""
    settings = [s for s in _order_settings(probes.setting) if s != "init"]
    taps = _order_taps(probes.tap.dropna().unique())
    columns = min(2, len(settings))
    rows = math.ceil(len(settings) / columns)
    figure = Figure(figsize=(4.6 * columns, 3.3 * rows), layout="constrained")
    grid = figure.subplots(rows, columns, sharey=True, squeeze=False).ravel()
    for unused in grid[len(settings):]:
        unused.set_visible(False)
    return settings, taps, figure, grid, columns


def fig4_probes(probes: pd.DataFrame, *, chance: float) -> Figure:
    settings, taps, figure, grid, columns = _setting_panels(probes)
    axes = grid[: len(settings)]
    init = probes[(probes.setting == "init") & (probes.probe == "clean_knn")].set_index("tap")
    for axis, setting in zip(axes, settings, strict=True):
        part = probes[probes.setting == setting]
        epochs = sorted(part.epoch.unique())
        colours = _colours(len(epochs))
        for colour, epoch in zip(colours, epochs, strict=True):
            at = part[part.epoch == epoch]
            for probe, style in (("clean_knn", "--"), ("noisy_knn", "-")):
                values = at[at.probe == probe].set_index("tap").reindex(taps).accuracy
                axis.plot(
                    range(len(taps)),
                    values,
                    style,
                    color=colour,
                    marker="o",
                    markersize=3,
                    label=f"epoch {epoch:g}" if probe == "noisy_knn" else None,
                )
        axis.plot(
            range(len(taps)),
            init.reindex(taps).accuracy,
            color="0.3",
            linewidth=2,
            alpha=0.4,
            label="init (clean)",
        )
        _chance_line(axis, chance)
        axis.set_xticks(range(len(taps)), [SHORT[t] for t in taps])
        axis.set_title(setting, fontsize=11)
        axis.set_ylim(0, 1)
        axis.set_xlabel("tap (increasing depth)")
    for axis in grid[::columns]:
        axis.set_ylabel("kNN accuracy")
    axes[-1].legend(fontsize=8, loc="center left")  # between the clean and the noisy curves
    figure.suptitle("Fig. 4: kNN probing per layer during training\n(dashed: clean probe on test "
                    "images, solid: noisy probe on training images)", fontsize=11)  # fmt: skip
    return figure


def fig7_invariance(
    invariance: pd.DataFrame, probes: pd.DataFrame, *, chance: float
) -> Figure:
    figure = Figure(figsize=(11, 4), layout="constrained")
    left, right = figure.subplots(1, 2, gridspec_kw={"width_ratios": [2, 1]})
    settings = [s for s in _order_settings(invariance.setting) if s != "init"]
    focus = "random+da" if "random+da" in settings else settings[0]
    part = invariance[invariance.setting == focus]
    for tap in _order_taps(part.tap.unique()):
        rows = part[part.tap == tap].sort_values("epoch")
        left.plot(rows.epoch, rows.invariance, marker="o", markersize=3, label=SHORT[tap])
    left.set_xlabel("epoch")
    left.set_ylabel("normalized invariance (lower = more invariant)")
    left.set_title(f"{focus}: invariance per tap (eq. 2)")
    error = probes[
        (probes.setting == focus) & (probes.probe == "clean_knn") & (probes.tap == "embedding")
    ].sort_values("epoch")
    twin = left.twinx()
    twin.plot(error.epoch, 1 - error.accuracy, "k--", label="kNN error (embedding)")
    # The whole [0, 1] range: autoscaling would blow a change of a point or two up to the
    # panel's height, next to invariance curves on their own scale.
    twin.set_ylim(0, 1)
    twin.set_ylabel("kNN probing error")
    left.legend(fontsize=7, loc="upper left", ncol=2)
    twin.legend(fontsize=7, loc="upper right")
    finals = []
    for setting in _order_settings(invariance.setting):
        rows = invariance[(invariance.setting == setting) & (invariance.tap == "embedding")]
        finals.append((setting, float(rows[rows.epoch == rows.epoch.max()].invariance.iloc[0])))
    right.bar([s for s, _ in finals], [v for _, v in finals], color="tab:blue")
    for position, (_, value) in enumerate(finals):
        right.text(position, value, f"{value:.2f}", ha="center", va="bottom", fontsize=8)
    right.set_title("embedding invariance at the end")
    right.tick_params(axis="x", labelrotation=30, labelsize=8)
    figure.suptitle("Fig. 7: normalized invariance")
    return figure


def training_curves(training: pd.DataFrame, *, chance: float) -> Figure:
    figure = Figure(figsize=(10, 3.6), layout="constrained")
    fit_axis, loss_axis = figure.subplots(1, 2)
    for setting, part in training.groupby("setting", sort=False):
        fit = part.dropna(subset=["fit_accuracy"]).sort_values("epoch")
        fit_axis.plot(fit.epoch, fit.fit_accuracy, marker="o", markersize=3, label=setting)
        loss = part.dropna(subset=["loss"]).sort_values("epoch")
        loss_axis.plot(loss.epoch, loss.loss, label=setting)
    _chance_line(fit_axis, chance)
    fit_axis.set_ylim(0, 1.02)
    fit_axis.set_title("fit of the training labels (unaugmented images)")
    fit_axis.set_xlabel("epoch")
    fit_axis.legend(fontsize=7)
    loss_axis.set_yscale("log")
    loss_axis.set_title("training loss")
    loss_axis.set_xlabel("epoch")
    return figure


def _final(table: pd.DataFrame) -> pd.DataFrame:
    return table[table.final.astype(bool)]


def _init_line(axis, table: pd.DataFrame) -> None:
    init = float(table.init_knn.iloc[0])
    axis.axhline(init, color="tab:green", linestyle="--", linewidth=1, label="initialization")


def fig6_banks(banks: pd.DataFrame, *, chance: float) -> Figure:
    figure = Figure(figsize=(10, 3.8), layout="constrained")
    knn_axis, loss_axis = figure.subplots(1, 2)
    finals = _final(banks)
    colours = {"label_preserving": "tab:blue", "per_view": "tab:red"}
    for mode, part in finals.groupby("mode"):
        part = part.sort_values("views")
        knn_axis.plot(part.views, part.clean_knn, marker="o", color=colours.get(mode), label=mode)
        loss_axis.plot(part.views, part.loss, marker="o", color=colours.get(mode), label=mode)
    _init_line(knn_axis, banks)
    _chance_line(knn_axis, chance)
    for axis in (knn_axis, loss_axis):
        axis.set_xscale("log", base=2)
        axis.set_xlabel("augmentations per image B")
        axis.legend(fontsize=7)
    knn_axis.set_ylabel("embedding kNN accuracy (clean test)")
    knn_axis.set_title("kNN probing at the end")
    loss_axis.set_title("training loss at the end (running, last epoch)")
    figure.suptitle("Fig. 6: fixed augmentation banks")
    return figure


def table3_iid(iid: pd.DataFrame, *, chance: float) -> Figure:
    finals = _final(iid)
    figure = Figure(figsize=(1.1 * len(finals) + 2, 3.8), layout="constrained")
    axis = figure.subplots()
    colours = ["tab:red" if str(s).startswith("random") else "tab:blue" for s in finals.setting]
    axis.bar(range(len(finals)), finals.clean_knn, color=colours)
    for position, value in enumerate(finals.clean_knn):
        axis.text(position, value, f"{value:.1%}", ha="center", va="bottom", fontsize=8)
    axis.set_xticks(range(len(finals)), finals.label, rotation=30, fontsize=8)
    _init_line(axis, iid)
    _chance_line(axis, chance)
    axis.set_ylabel("embedding kNN accuracy")
    axis.legend(fontsize=7)
    axis.set_title("Table 3: i.i.d. augmentations (red: random labels, blue: clean)")
    return figure


def _over_epochs_and_final(
    table: pd.DataFrame, column: str, title: str, xlabel: str, chance: float, log: bool = False
) -> Figure:
    figure = Figure(figsize=(10, 3.8), layout="constrained")
    curves, finals_axis = figure.subplots(1, 2)
    for value, part in table.groupby(column, sort=False):
        part = part.sort_values("epoch")
        curves.plot(part.epoch, part.clean_knn, marker="o", markersize=3, label=str(value))
    _init_line(curves, table)
    _chance_line(curves, chance)
    curves.set_xlabel("epoch")
    curves.set_ylabel("embedding kNN accuracy")
    curves.legend(fontsize=7, title=xlabel, title_fontsize=7)
    finals = _final(table)
    positions = finals[column] if not log else finals[column].replace(0, np.nan)
    numeric = pd.api.types.is_numeric_dtype(finals[column])
    x = positions if numeric else range(len(finals))
    finals_axis.plot(x, finals.clean_knn, marker="o")
    if not numeric:
        finals_axis.set_xticks(list(x), finals[column].astype(str))
    if log:
        finals_axis.set_xscale("log", base=2)
    _init_line(finals_axis, table)
    _chance_line(finals_axis, chance)
    finals_axis.set_xlabel(xlabel)
    finals_axis.set_title("at the end")
    figure.suptitle(title)
    return figure


def fig9_num_classes(table: pd.DataFrame, *, chance: float) -> Figure:
    return _over_epochs_and_final(
        table, "num_classes", "Fig. 9: number of random classes", "classes C", chance
    )


def fig8_projector(table: pd.DataFrame, *, chance: float) -> Figure:
    return _over_epochs_and_final(
        table,
        "projector_hidden",
        "Fig. 8: projector hidden width",
        "hidden width",
        chance,
        log=True,
    )


def fig12_randaugment(table: pd.DataFrame, *, chance: float) -> Figure:
    return _over_epochs_and_final(
        table, "strength", "Fig. 12: RandAugment strength", "magnitude", chance
    )


def fig11_13_label_noise(table: pd.DataFrame, *, chance: float) -> Figure:
    figure = Figure(figsize=(10, 3.8), layout="constrained")
    curves, finals_axis = figure.subplots(1, 2)
    shown = table[table.augmented.astype(bool)] if table.augmented.any() else table
    for noise, part in shown.groupby("label_noise"):
        part = part.sort_values("epoch")
        curves.plot(part.epoch, part.clean_knn, marker="o", markersize=3, label=f"{noise:.0%}")
    _init_line(curves, table)
    curves.set_xlabel("epoch")
    curves.set_ylabel("embedding kNN accuracy")
    curves.set_title("during training" + (" (with augmentation)" if table.augmented.any() else ""))
    curves.legend(fontsize=7, title="label noise", title_fontsize=7)
    finals = _final(table)
    for augmented, part in finals.groupby("augmented"):
        part = part.sort_values("label_noise")
        label = "with augmentations" if augmented else "without augmentations"
        finals_axis.plot(part.label_noise, part.clean_knn, marker="o", label=label)
    _init_line(finals_axis, table)
    _chance_line(finals_axis, chance)
    finals_axis.set_xlabel("label noise")
    finals_axis.set_title("at the end (fig. 13)")
    finals_axis.legend(fontsize=7)
    figure.suptitle("Figs. 11 and 13: label noise")
    return figure


def fig10_transfer(transfer: pd.DataFrame, *, chance: float) -> Figure:
    targets = list(transfer.target.unique())
    figure = Figure(figsize=(5 * len(targets), 3.8), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(targets)))
    for axis, target in zip(axes, targets, strict=True):
        part = transfer[transfer.target == target]
        init = part[part.setting == "init"]
        trained = part[part.setting != "init"].dropna(subset=["label_noise"])
        for augmented, rows in trained.groupby("augmented"):
            rows = rows.groupby("label_noise").accuracy.mean().sort_index()
            label = "with augmentations" if augmented else "without augmentations"
            axis.plot(rows.index, rows.values, marker="o", label=label)
        if len(init):
            axis.axhline(
                float(init.accuracy.iloc[0]),
                color="tab:green",
                linestyle="--",
                label="initialization",
            )
        axis.set_xlabel("label noise (0 = clean labels, 1 = random)")
        axis.set_ylabel(f"embedding kNN accuracy on {target}")
        axis.set_title(f"transfer to {target}")
        axis.legend(fontsize=7)
    figure.suptitle("Fig. 10: transfer of the embeddings")
    return figure


def fig14_toy(toy: pd.DataFrame, *, chance: float) -> Figure:
    mean = toy.groupby(["samples", "augmentations"]).test_knn.mean().unstack("augmentations")
    figure = Figure(
        figsize=(1.0 * mean.shape[1] + 3, 0.6 * mean.shape[0] + 2.2), layout="constrained"
    )
    axis = figure.subplots()
    image = axis.imshow(mean.values, origin="lower", cmap="viridis", vmin=0, vmax=1, aspect="auto")
    for row in range(mean.shape[0]):
        for column in range(mean.shape[1]):
            value = mean.values[row, column]
            axis.text(
                column,
                row,
                f"{value:.2f}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if value < 0.6 else "black",
            )
    axis.set_xticks(range(mean.shape[1]), mean.columns)
    axis.set_yticks(range(mean.shape[0]), mean.index)
    axis.set_xlabel("number of augmentations B")
    axis.set_ylabel("number of samples n")
    init = float(toy.init_knn.mean())
    figure.colorbar(image, ax=axis, label=f"test kNN accuracy (init {init:.2f})")
    axis.set_title("Fig. 14: toy model trained on random labels")
    return figure


def _colours(count: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return [cmap(i / max(1, count - 1)) for i in range(count)]


# figure name, drawer, tables it reads (in argument order)
FIGURES = [
    ("benign_fig4_probes", fig4_probes, ["benign_probes"]),
    ("benign_fig7_invariance", fig7_invariance, ["benign_invariance", "benign_probes"]),
    ("benign_training", training_curves, ["benign_training"]),
    ("benign_fig6_banks", fig6_banks, ["benign_banks"]),
    ("benign_table3_iid", table3_iid, ["benign_iid"]),
    ("benign_fig9_num_classes", fig9_num_classes, ["benign_num_classes"]),
    ("benign_fig11_13_label_noise", fig11_13_label_noise, ["benign_label_noise"]),
    ("benign_fig8_projector", fig8_projector, ["benign_projector"]),
    ("benign_fig12_randaugment", fig12_randaugment, ["benign_randaugment"]),
    ("benign_fig10_transfer", fig10_transfer, ["benign_transfer"]),
    ("benign_fig14_toy", fig14_toy, ["benign_toy"]),
]


# -- a repeated study: its study seeds together ------------------------------------------------


def combined_figures(seed_dirs: Mapping[int, Path], out: RunDir) -> list[Path]:
    """The figures of a repeated study (``Study.combined_figures``), from each study seed's
    ``tables/benign_probes`` and ``summary.json`` (chance): ``seeds_fig4_probes``."""
    probes, chance = {}, math.nan
    for k, path in seed_dirs.items():
        table_path = Path(path) / "tables" / "benign_probes.parquet"
        if table_path.exists():
            probes[k] = pd.read_parquet(table_path)
        summary_path = Path(path) / "summary.json"
        if summary_path.exists():
            chance = json.loads(summary_path.read_text()).get("chance", chance)
    if not probes:
        return []
    return [out.save_figure("seeds_fig4_probes", probes_over_seeds(probes, chance=chance))]


def probes_over_seeds(probes: Mapping[int, pd.DataFrame], *, chance: float) -> Figure:
    """Fig. 4 at the last measured epoch over study seeds: the clean (dashed) and noisy (solid)
    kNN probe of every tap, the mean over seeds with a band from the lowest seed to the highest,
    one panel per setting; grey: the clean probe at initialization."""
    finals = []
    for k, table in probes.items():
        knn = table[table.probe.isin(["clean_knn", "noisy_knn"])]
        last = knn.groupby("setting").epoch.transform("max")
        finals.append(knn[knn.epoch == last].assign(study_seed=k))
    final = pd.concat(finals, ignore_index=True)
    settings, taps, figure, grid, columns = _setting_panels(final)
    x = np.arange(len(taps))

    def spread(part: pd.DataFrame) -> pd.DataFrame:
        by_tap = part.pivot_table(index="tap", columns="study_seed", values="accuracy")
        by_tap = by_tap.reindex(taps)
        return pd.DataFrame({"mean": by_tap.mean(axis=1), "low": by_tap.min(axis=1),
                             "high": by_tap.max(axis=1)})  # fmt: skip

    init = spread(final[(final.setting == "init") & (final.probe == "clean_knn")])
    for axis, setting in zip(grid, settings, strict=False):
        for probe, style, colour in (("clean_knn", "--", "tab:blue"),
                                     ("noisy_knn", "-", "tab:red")):  # fmt: skip
            band = spread(final[(final.setting == setting) & (final.probe == probe)])
            axis.fill_between(x, band["low"], band["high"], color=colour, alpha=0.2, lw=0)
            axis.plot(x, band["mean"], style, color=colour, marker="o", markersize=3,
                      label=f"{probe.split('_')[0]} probe")  # fmt: skip
        axis.plot(x, init["mean"], color="0.3", linewidth=2, alpha=0.4, label="init (clean)")
        _chance_line(axis, chance)
        axis.set_xticks(x, [SHORT[t] for t in taps])
        axis.set_title(setting, fontsize=11)
        axis.set_ylim(0, 1)
        axis.set_xlabel("tap (increasing depth)")
    for axis in grid[::columns]:
        axis.set_ylabel("kNN accuracy")
    handles, labels = grid[0].get_legend_handles_labels()
    figure.legend(handles, labels, fontsize=8, loc="outside lower center", ncols=len(labels))
    figure.suptitle(f"Fig. 4 over {len(probes)} study seeds, last epoch: mean (line) and the "
                    "range of the seeds (band)\n(dashed: clean probe on test images, solid: "
                    "noisy probe on training images)", fontsize=11)  # fmt: skip
    return figure
