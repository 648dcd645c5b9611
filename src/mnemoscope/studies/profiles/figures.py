"""The figures of paper 001, redrawn from a study directory's stored arrays and tables only.

``draw_figures(run_dir)`` reads ``config.yaml``, ``meta.json``, ``arrays/`` and ``tables/`` and
writes ``figures/``:

* fig1_profiles: sorted p_t at every measured epoch, one panel per paradigm (fig. 1);
* fig2_binomial: profiles at the aligned epochs against sorted binomial noise (dotted, the
  paper's null) and one draw of the network-block permutation null (dashed, mnemoscope's
  headline distance), averaged and fixed augmentations (fig. 2);
* fig3_aligned: paradigms compared at the aligned epochs, averaged and fixed (fig. 3);
* fig4_augmentations: p~ of each single augmentation against p_t, every k-th image (fig. 4);
* fig6_tsne: t-SNE of embedding-layer features of training images, by class (fig. 6);
* fig7_activation_max: activation maximization per encoder stage (fig. 7);
* mean_recognition: mean p_t over epochs with the targets and aligned epochs (section 4.2);
* binomial_distance: MAE to each null against mean p, at every measured epoch;
* data_map_<paradigm>: dataset cartography of the tracked images (Swayamdipta et al. 2020):
  confidence against variability, coloured by correctness.

``combined_figures(seed_dirs, out)`` draws a repeated study's ``seeds_fig2_mae``: fig. 2's MAE
of each paradigm to the nulls at mean p_t = 0.5, one marker per study seed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from mnemoscope.analysis.profiles import (
    augmentation_recognition,
    binomial_profile,
    null_profile,
    sorted_profile,
)
from mnemoscope.store import RunDir
from mnemoscope.studies.profiles.config import Config
from mnemoscope.studies.profiles.tables import NULLS, VARIANTS, load_recognition, middle_target
from mnemoscope.studies.seedplots import points_per_seed

PANEL = 3.2  # inches per panel side


def draw_figures(run_dir: str | Path) -> list[Path]:
    """Draw every figure of the study in ``run_dir`` from its stored files; return the paths."""
    study = RunDir(run_dir)
    config = Config.model_validate(study.read_config())
    names = [paradigm.name for paradigm in config.paradigms]
    procedure = config.resolved_procedure()
    loaded = {name: load_recognition(study, name, procedure) for name in names}
    every = study.load_table("profile_alignment")
    alignment = every[every.null == "binomial"]  # epochs and mean p: the same for every null
    distance = study.load_table("profile_distance")
    dynamics = study.load_table("dynamics")
    classes = study.read_meta().get("classes")
    drawn = [
        study.save_figure("fig1_profiles", profiles_over_epochs(loaded)),
        study.save_figure("fig2_binomial", profiles_vs_nulls(loaded, every, config.binomial_seed,
                                                             config.null_seed)),
        study.save_figure("fig3_aligned", aligned_profiles(loaded, alignment, config.targets)),
        study.save_figure("fig4_augmentations", augmentation_scatter(
            study, loaded, alignment, config.targets, config.figures.every_kth)),
        study.save_figure("fig6_tsne", tsne_panels(study, names, classes)),
        study.save_figure("fig7_activation_max", activation_grid(study, names)),
        study.save_figure("mean_recognition", mean_recognition(loaded, alignment)),
        study.save_figure("binomial_distance", binomial_distance(distance, names)),
    ]  # fmt: skip
    drawn += [study.save_figure(f"data_map_{name}", data_map(dynamics, name)) for name in names]
    return drawn


def _grid(rows: int, columns: int, sharey: bool = True) -> tuple[Figure, np.ndarray]:
    figure = Figure(figsize=(PANEL * columns, PANEL * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False, sharey=sharey)
    return figure, axes


def _rank(count: int) -> np.ndarray:
    """x axis of a profile: the rank of each image as a fraction of |X|."""
    return (np.arange(count) + 0.5) / count


def profiles_over_epochs(loaded: dict) -> Figure:
    figure, axes = _grid(1, len(loaded))
    for axis, (name, arrays) in zip(axes[0], loaded.items(), strict=True):
        epochs = arrays["epochs"]
        values = sorted_profile(arrays["averaged"]["values"])
        norm = Normalize(float(epochs.min()), float(epochs.max()) or 1.0)
        for epoch, profile in zip(epochs, values, strict=True):
            axis.plot(_rank(len(profile)), profile, color=colormaps["viridis"](norm(epoch)), lw=1)
        axis.set(title=f"{name} (N={arrays['seeds']}, M={arrays['views']})",
                 xlabel="images, sorted by p_t", ylim=(-0.02, 1.02))  # fmt: skip
        figure.colorbar(ScalarMappable(norm, "viridis"), ax=axis, label="epoch", shrink=0.8)
    axes[0, 0].set_ylabel("p_t(x)")
    figure.suptitle("Memorization profiles over training (paper 001 fig. 1)")
    return figure


def profiles_vs_nulls(loaded: dict, alignment, binomial_seed: int, null_seed: int) -> Figure:
    figure, axes = _grid(len(loaded), 2)
    for row, (name, arrays) in enumerate(loaded.items()):
        for column, variant in enumerate(VARIANTS):
            axis = axes[row, column]
            part = arrays[variant]
            rows = alignment[(alignment.paradigm == name) & (alignment.variant == variant)]
            maes = rows.pivot_table(index="epoch", columns="null", values="mae")
            rows = rows[rows.null == "binomial"].drop_duplicates("epoch")  # one curve per epoch
            for color, r in zip(colormaps["tab10"].colors, rows.itertuples(), strict=False):
                index = int(np.flatnonzero(arrays["epochs"] == r.epoch)[0])
                profile = sorted_profile(part["values"][index])
                # draw 0 of the tables' MAE: the same seed gives the same sorted noise
                noise = binomial_profile(float(profile.mean()), part["trials"], len(profile),
                                         np.random.default_rng(binomial_seed))  # fmt: skip
                permuted = null_profile(part["network_counts"][index], part["null_trials"],
                                        null_seed)  # fmt: skip
                label = (f"t={r.epoch:g}, p^={r.mean_p:.2f}, MAE bin "
                         f"{maes.loc[r.epoch, 'binomial']:.3f}, block "
                         f"{maes.loc[r.epoch, 'network_block']:.3f}")  # fmt: skip
                axis.plot(_rank(len(profile)), profile, color=color, lw=1.5, label=label)
                axis.plot(_rank(len(noise)), noise, color=color, lw=1.2, ls=":")
                axis.plot(_rank(len(permuted)), permuted, color=color, lw=1.0, ls="--")
            axis.set(title=f"{name}: {variant}", ylim=(-0.02, 1.02))
            axis.legend(fontsize=6, loc="upper left")
        axes[row, 0].set_ylabel("p_t(x)  /  p~_t(x~)")
    for axis in axes[-1]:
        axis.set_xlabel("images, sorted")
    figure.suptitle("Profiles (solid) vs sorted binomial noise (dotted, paper 001 fig. 2)\n"
                    "and the network-block permutation null (dashed)")  # fmt: skip
    return figure


def aligned_profiles(loaded: dict, alignment, targets: list[float]) -> Figure:
    figure, axes = _grid(2, len(targets))
    colors = dict(zip(loaded, colormaps["tab10"].colors, strict=False))
    for row, variant in enumerate(VARIANTS):
        for column, target in enumerate(targets):
            axis = axes[row, column]
            chosen = alignment[(alignment.variant == variant) & (alignment.target_p == target)]
            for r in chosen.itertuples():
                arrays = loaded[r.paradigm]
                index = int(np.flatnonzero(arrays["epochs"] == r.epoch)[0])
                profile = sorted_profile(arrays[variant]["values"][index])
                label = f"{r.paradigm} ({r.epoch:g})" + ("" if r.reached else " not reached")
                axis.plot(_rank(len(profile)), profile, color=colors[r.paradigm], lw=1.5,
                          ls="-" if r.reached else "--", label=label)  # fmt: skip
            axis.set(title=f"{variant}, p^ = {target:g}", ylim=(-0.02, 1.02))
            axis.legend(fontsize=7, loc="upper left")
        axes[row, 0].set_ylabel("p_t(x)" if variant == "averaged" else "p~_t(x~)")
    for axis in axes[-1]:
        axis.set_xlabel("images, sorted")
    figure.suptitle("Paradigms at aligned epochs; (t) = epoch, dashed = target not reached "
                    "(paper 001 fig. 3)")  # fmt: skip
    return figure


def augmentation_scatter(
    study: RunDir, loaded: dict, alignment, targets: list[float], every_kth: int | None
) -> Figure:
    target = middle_target(targets)
    figure, axes = _grid(1, len(loaded))
    for axis, (name, arrays) in zip(axes[0], loaded.items(), strict=True):
        r = next(alignment[(alignment.paradigm == name) & (alignment.variant == "averaged")
                           & (alignment.target_p == target)].itertuples())  # fmt: skip
        index = int(np.flatnonzero(arrays["epochs"] == r.epoch)[0])
        indicators = study.load_array(f"{name}-indicators")
        single = augmentation_recognition(indicators[:, index : index + 1])[0]  # [M', X]
        p = arrays["averaged"]["values"][index]
        order = np.argsort(p, kind="stable")
        step = every_kth or max(1, len(p) // 40)
        shown = order[::step]
        x = np.arange(len(shown))
        for view in single[:, shown]:
            axis.scatter(x, view, s=8, color="tab:blue", alpha=0.5, lw=0)
        axis.plot(x, p[shown], color="black", lw=1.5, label="p_t(x)")
        axis.set(title=f"{name}\nepoch {r.epoch:g}, mean p {r.mean_p:.2f}",
                 xlabel=f"one image in {step}, sorted by p_t", ylim=(-0.04, 1.04))  # fmt: skip
        axis.legend(fontsize=7, loc="upper left")
    axes[0, 0].set_ylabel("p~_t of single augmentations")
    figure.suptitle("Augmentations' impact on complexity (paper 001 fig. 4)")
    return figure


def tsne_panels(study: RunDir, names: list[str], classes: list[str] | None) -> Figure:
    figure, axes = _grid(1, len(names), sharey=False)
    labels = study.load_array("tsne-labels")
    for axis, name in zip(axes[0], names, strict=True):
        points = study.load_array(f"{name}-tsne")
        for label in np.unique(labels):
            chosen = labels == label
            text = classes[label] if classes and 0 <= label < len(classes) else str(label)
            axis.scatter(points[chosen, 0], points[chosen, 1], s=4, lw=0, label=text,
                         color=colormaps["tab10"](int(label) % 10))  # fmt: skip
        axis.set(title=name, xticks=[], yticks=[])
    axes[0, -1].legend(fontsize=6, markerscale=3, loc="center left", bbox_to_anchor=(1, 0.5))
    figure.suptitle("t-SNE of embedding-layer features of training images (paper 001 fig. 6)")
    return figure


def _mosaic(images: np.ndarray) -> np.ndarray:
    """[K, C, H, W] in [0, 1] -> one [rows*H, cols*W, C] image with 1-pixel white gaps."""
    count, channels, height, width = images.shape
    columns = int(np.ceil(np.sqrt(count)))
    rows = int(np.ceil(count / columns))
    canvas = np.ones((rows * (height + 1) - 1, columns * (width + 1) - 1, channels))
    for k, image in enumerate(images.astype(np.float32)):
        top, left = (k // columns) * (height + 1), (k % columns) * (width + 1)
        canvas[top : top + height, left : left + width] = image.transpose(1, 2, 0)
    return canvas[..., 0] if channels == 1 else canvas


def activation_grid(study: RunDir, names: list[str]) -> Figure:
    stacks = {name: study.load_array(f"{name}-activation_max") for name in names}
    stages = max(stack.shape[0] for stack in stacks.values())
    figure, axes = _grid(stages, len(names), sharey=False)
    for column, name in enumerate(names):
        for stage in range(stages):
            axis = axes[stage, column]
            axis.set(xticks=[], yticks=[])
            if stage < stacks[name].shape[0]:
                axis.imshow(_mosaic(stacks[name][stage]), cmap="gray", vmin=0, vmax=1)
            if stage == 0:
                axis.set_title(name)
            if column == 0:
                axis.set_ylabel(f"layer{stage + 1}")
    figure.suptitle("Activation maximization of random channels per stage (paper 001 fig. 7)")
    return figure


def mean_recognition(loaded: dict, alignment) -> Figure:
    figure, axes = _grid(1, 2)
    for axis, variant in zip(axes[0], VARIANTS, strict=True):
        for color, (name, arrays) in zip(colormaps["tab10"].colors, loaded.items(), strict=False):
            mean_p = arrays[variant]["values"].mean(axis=1)
            axis.plot(arrays["epochs"], mean_p, color=color, lw=1.5, marker=".", label=name)
            rows = alignment[(alignment.paradigm == name) & (alignment.variant == variant)]
            axis.scatter(rows.epoch, rows.mean_p, color=color, s=40, marker="o",
                         facecolors="none")  # fmt: skip
        for target in sorted(set(alignment.target_p)):
            axis.axhline(target, color="grey", lw=0.8, ls=":")
        axis.set(title=f"mean recognition ({variant})", xlabel="epoch", ylim=(-0.02, 1.02))
        axis.legend(fontsize=7)
    axes[0, 0].set_ylabel("mean over X")
    figure.suptitle("Epoch alignment: circles mark the epochs aligned with each target")
    return figure


def binomial_distance(distance, names: list[str]) -> Figure:
    figure, axes = _grid(1, 2)
    for axis, variant in zip(axes[0], VARIANTS, strict=True):
        for color, name in zip(colormaps["tab10"].colors, names, strict=False):
            for null, style in zip(NULLS, (":", "-"), strict=True):
                rows = distance[(distance.paradigm == name) & (distance.variant == variant)
                                & (distance.null == null)]  # fmt: skip
                axis.errorbar(rows.mean_p, rows.mae, yerr=rows.mae_sd, color=color, lw=1,
                              ls=style, marker=".",
                              label=f"{name}, {null.replace('_', '-')}")  # fmt: skip
        axis.set(title=variant, xlabel="mean p", xlim=(0, 1))  # short: the panels are narrow
        axis.legend(fontsize=6)
    axes[0, 0].set_ylabel("MAE of sorted profile vs sorted null")
    figure.suptitle("Distance of the profiles to binomial noise (dotted) and to the network-block "
                    "null (solid), by augmentation variant")  # fmt: skip
    return figure


def data_map(dynamics, name: str) -> Figure:
    """Swayamdipta et al. 2020 fig. 1: confidence against variability, coloured by correctness."""
    rows = dynamics[dynamics.paradigm == name]
    figure = Figure(figsize=(1.6 * PANEL, 1.3 * PANEL), layout="constrained")
    axis = figure.subplots()
    points = axis.scatter(rows.variability, rows.confidence, c=rows.correctness, cmap="viridis",
                          vmin=0, vmax=1, s=14, lw=0)  # fmt: skip
    figure.colorbar(points, ax=axis, label="correctness", shrink=0.8)
    axis.set(title=f"{name}: data map of the tracked images", xlabel="variability",
             ylabel="confidence", ylim=(-0.02, 1.02))  # fmt: skip
    return figure


# -- a repeated study: its study seeds together ------------------------------------------------


def combined_figures(seed_dirs: Mapping[int, Path], out: RunDir) -> list[Path]:
    """The figures of a repeated study (``Study.combined_figures``), from each study seed's
    ``tables/profile_alignment``: ``seeds_fig2_mae``."""
    tables = {}
    for k, path in seed_dirs.items():
        table_path = Path(path) / "tables" / "profile_alignment.parquet"
        if table_path.exists():
            tables[k] = pd.read_parquet(table_path)
    if not tables:
        return []
    return [out.save_figure("seeds_fig2_mae", mae_per_seed(tables))]


def mae_per_seed(tables: Mapping[int, pd.DataFrame]) -> Figure:
    """Fig. 2's comparison over study seeds: each paradigm's MAE to binomial noise (the paper's
    null, top) and to the network-block permutation null (bottom) at the middle target mean p_t,
    averaged and fixed augmentations, one marker per study seed (hollow: the target was not
    reached) and the mean over seeds."""
    first = next(iter(tables.values()))
    paradigms = list(dict.fromkeys(first.paradigm))
    target = middle_target(sorted(set(first.target_p)))
    figure, axes = _grid(len(NULLS), len(VARIANTS))
    for row, null in enumerate(NULLS):
        for column, variant in enumerate(VARIANTS):
            axis = axes[row, column]
            values, hollow = {}, {}
            for k, table in tables.items():
                rows = table[(table["null"] == null) & (table.variant == variant)
                             & (table.target_p == target)].drop_duplicates("paradigm")  # fmt: skip
                values[k] = dict(zip(rows.paradigm, rows.mae.astype(float), strict=True))
                hollow[k] = set(rows.paradigm[~rows.reached.astype(bool)])
            points_per_seed(axis, paradigms, values, hollow=hollow, label=row == column == 0)
            name = "binomial noise" if null == "binomial" else "network-block null"
            axis.set_title(f"{variant}: MAE to {name}")
            axis.tick_params(axis="x", labelrotation=20)
        axes[row, 0].set_ylabel(f"MAE at mean p_t = {target:g}")
    axes[0, 0].set_ylim(bottom=0)  # shared: once every panel has drawn
    axes[0, 0].legend(fontsize=7, loc="best")
    figure.suptitle(f"Profiles' MAE to the nulls at mean p_t = {target:g} (paper 001 fig. 2)\n"
                    f"{len(tables)} study seeds; hollow: the target was not reached")  # fmt: skip
    return figure
