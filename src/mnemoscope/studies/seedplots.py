"""Drawing helpers for the figures of a repeated study (``Study.combined_figures``): every study
seed keeps its own marker and colour in every panel, and the mean over seeds is a short bar, so
that a reader sees the spread of the seeds rather than a mean alone."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib import colormaps

MARKERS = "osD^v<>ph"


def seed_style(position: int) -> dict[str, object]:
    """The marker and colour of the ``position``-th study seed (in the run's order)."""
    colours = colormaps["tab10"].colors
    return {"marker": MARKERS[position % len(MARKERS)], "color": colours[position % len(colours)]}


def points_per_seed(
    axis,
    categories: Sequence[str],
    values: Mapping[int, Mapping[str, float | None]],
    *,
    hollow: Mapping[int, set[str]] | None = None,
    label: bool = True,
) -> None:
    """At each of ``categories`` (x), one marker per study seed (``values``: seed -> category ->
    value; a missing or NaN value draws nothing), side by side, and a bar at the mean over the
    seeds that have a value. ``hollow``: the categories drawn hollow at a seed (e.g. a target
    the paradigm never reached)."""
    seeds = list(values)
    width = 0.5
    offsets = np.linspace(-width / 2, width / 2, len(seeds)) if len(seeds) > 1 else [0.0]
    for position, (k, offset) in enumerate(zip(seeds, offsets, strict=True)):
        style = seed_style(position)
        empty = (hollow or {}).get(k, set())
        xs, ys, faces = [], [], []
        for x, category in enumerate(categories):
            value = values[k].get(category)
            if value is None or not math.isfinite(value):
                continue
            xs.append(x + offset)
            ys.append(value)
            faces.append("none" if category in empty else style["color"])
        axis.scatter(xs, ys, marker=style["marker"], facecolors=faces, edgecolors=style["color"],
                     s=36, zorder=3, label=f"study seed {k}" if label else None)  # fmt: skip
    labelled = not label
    for x, category in enumerate(categories):
        present = [values[k].get(category) for k in seeds]
        present = [v for v in present if v is not None and math.isfinite(v)]
        if present:
            mean = float(np.mean(present))
            axis.plot([x - width / 2 - 0.1, x + width / 2 + 0.1], [mean, mean], color="0.2",
                      lw=1.5, zorder=2, label=None if labelled else "mean over seeds")  # fmt: skip
            labelled = True
    axis.set_xticks(range(len(categories)), [str(c) for c in categories])
    axis.set_xlim(-0.7, len(categories) - 0.3)
