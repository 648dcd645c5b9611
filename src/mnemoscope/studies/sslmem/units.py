"""Where memorization lives, unit by unit: UnitMem of the study's trained f encoders.

Wang et al., "Localizing Memorization in SSL Vision Encoders" (NeurIPS 2024) score every unit
u of a layer by how selectively it responds to a single training image (``measure.unitmem``:
UnitMem(u) = (mu_max - mu_rest) / (mu_max + mu_rest) over the unit's mean activations per
image, K augmented views each). Here the images are f's scored training images (the
candidates S_C, planted ones included, and the scored shared points S_S), the encoders the
study's f (no training of its own), every unit of each tap of ``unitmem.taps``.

Tables: ``sslmem_unitmem`` (one row per encoder and unit), ``sslmem_unitmem_layers`` (per
tap: units, undefined units, mean / median / 90th percentile) and ``sslmem_unitmem_top`` (the
``unitmem.top`` most memorizing units: unit, layer, unitmem and the image that drives it);
figures ``sslmem_unitmem`` (a histogram per layer) and ``sslmem_unitmem_top`` (those images).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from mnemoscope.measure.unitmem import unitmem_of_encoder
from mnemoscope.studies.sslmem.config import UnitMemConfig

SUBSETS = ("S_C", "S_S")  # f's training images among the scored points


def unit_table(
    networks: list,
    seeds: list[int],
    points: pd.DataFrame,
    images: torch.Tensor,
    layer_of: dict[str, str],
    config: UnitMemConfig,
    options: dict[str, Any],
    device: torch.device,
) -> pd.DataFrame:
    """One row per (f encoder, tap, unit): seed, tap, layer, unit, unitmem, and the image
    with the highest mean activation: top_position (row of ``points``), top_id,
    top_subset, top_kind. ``options``: the study's measurement (augment, seed, batch_size)."""
    chosen = np.flatnonzero(points["subset"].isin(SUBSETS).to_numpy())
    subset_images = images[torch.from_numpy(chosen)]
    layers = [layer_of[tap] for tap in config.taps]
    frames = []
    for seed, network in zip(seeds, networks, strict=True):
        by_layer = unitmem_of_encoder(
            network, subset_images, layers, negative=config.negative, augment=options["augment"],
            views=config.views, seed=options["seed"], batch_size=options["batch_size"],
            device=device,
        )  # fmt: skip
        for tap, layer in zip(config.taps, layers, strict=True):
            score, top = by_layer[layer]
            position = chosen[top.numpy()]
            frames.append(pd.DataFrame({
                "seed": seed, "tap": tap, "layer": layer, "unit": np.arange(len(score)),
                "unitmem": score.numpy(), "top_position": position,
                "top_id": points["id"].to_numpy()[position],
                "top_subset": points["subset"].to_numpy()[position],
                "top_kind": points["kind"].to_numpy()[position],
            }))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def layer_summary(units: pd.DataFrame) -> pd.DataFrame:
    """Per tap (in ``units`` order): units, undefined (NaN: dead, or negative with
    ``negative: nan``), mean, median and q90 of UnitMem over the defined units of every f."""
    rows = []
    for tap, group in units.groupby("tap", sort=False):
        values = group["unitmem"].dropna().to_numpy()
        stats = ((float(values.mean()), float(np.median(values)), float(np.quantile(values, 0.9)))
                 if values.size else (np.nan, np.nan, np.nan))  # fmt: skip
        rows.append({"tap": tap, "layer": group["layer"].iloc[0], "units": len(group),
                     "undefined": int(group["unitmem"].isna().sum()),
                     "mean": stats[0], "median": stats[1], "q90": stats[2]})  # fmt: skip
    return pd.DataFrame(rows)


def top_units(units: pd.DataFrame, top: int) -> pd.DataFrame:
    """The ``top`` units with the highest UnitMem (undefined ones excluded), highest first."""
    defined = units.dropna(subset=["unitmem"])
    ranked = defined.sort_values("unitmem", ascending=False, kind="stable").head(top)
    return ranked.reset_index(drop=True)


def headline(summary: pd.DataFrame, top: pd.DataFrame) -> str:
    """One line: the median UnitMem per layer and the most memorizing unit's image."""
    medians = ", ".join(f"{row.tap} {row.median:.2f}" for row in summary.itertuples())
    line = f"UnitMem of the f encoders, median per layer: {medians}"
    if len(top):
        first = top.iloc[0]
        line += (f"; most memorizing unit {first['tap']} #{first['unit']} (seed {first['seed']}) "
                 f"UnitMem {first['unitmem']:.3f}, driven by image {first['top_id']} "
                 f"({first['top_subset']}, {first['top_kind']})")  # fmt: skip
    return line


def draw_histograms(units: pd.DataFrame) -> Figure:
    """A histogram of UnitMem per layer (every f encoder's units together)."""
    taps = list(dict.fromkeys(units["tap"]))
    figure = Figure(figsize=(2.6 * len(taps), 2.6), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(taps), sharey=False))
    for axis, tap in zip(axes, taps, strict=True):
        values = units.loc[units["tap"] == tap, "unitmem"].dropna()
        axis.hist(values, bins=np.linspace(0, 1, 21), color="tab:red")
        undefined = int(units.loc[units["tap"] == tap, "unitmem"].isna().sum())
        axis.set(title=f"{tap} ({len(values)} units" + (f", {undefined} undefined)"
                                                         if undefined else ")"),
                 xlabel="UnitMem", xlim=(0, 1))  # fmt: skip
        axis.title.set_fontsize(8)
    axes[0].set_ylabel("units")
    return figure


def draw_top_images(top: pd.DataFrame, images: np.ndarray, limit: int = 10) -> Figure:
    """The images that drive the most memorizing units, captioned tap #unit and UnitMem."""
    shown = top.head(limit)
    figure = Figure(figsize=(1.3 * max(1, len(shown)), 1.8), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, max(1, len(shown))))
    for axis in axes:
        axis.axis("off")
    for axis, row, image in zip(axes, shown.itertuples(), images, strict=False):
        picture = image.transpose(1, 2, 0)
        axis.imshow(picture.squeeze(-1) if picture.shape[-1] == 1 else picture, cmap="gray",
                    vmin=0, vmax=255)  # fmt: skip
        axis.set_title(f"{row.tap} #{row.unit}\n{row.unitmem:.2f} ({row.top_kind})", fontsize=7)
    return figure
