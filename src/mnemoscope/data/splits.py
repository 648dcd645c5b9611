"""Seeded, disjoint partitions of a dataset (e.g. SSLMem's S_S / S_C / S_I, tracked subsets).

``split`` shuffles once with numpy's PCG64 generator seeded by ``seed`` and cuts the shuffled
order into consecutive parts, so the same arguments give the same parts on every machine.

With ``stratify_labels`` the shuffle is replaced by an order in which every class is spread
evenly: each class's members are shuffled and placed at evenly spaced positions
(rank + random offset) / class size, and all examples are sorted by position. Any stretch of
that order then holds each class in proportion, so every part's class counts are within 2 of
``part size * class share``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch

# Slack for fractions like 0.1 + 0.2 + 0.7 whose float sum is not exactly 1.
FRACTION_TOLERANCE = 1e-9


def _as_pool(n_or_index: int | torch.Tensor | np.ndarray | Sequence[int]) -> np.ndarray:
    """The items to partition: 0..n-1 for an int, else the given unique integer indices."""
    if isinstance(n_or_index, (int, np.integer)) and not isinstance(n_or_index, bool):
        if n_or_index < 0:
            raise ValueError(f"n must be >= 0, got {n_or_index}")
        return np.arange(int(n_or_index), dtype=np.int64)
    if isinstance(n_or_index, torch.Tensor):
        n_or_index = n_or_index.detach().cpu().numpy()
    index = np.asarray(n_or_index)
    if index.ndim != 1 or not (np.issubdtype(index.dtype, np.integer) or index.size == 0):
        raise ValueError(
            f"n_or_index must be an int or a 1-D integer index, got dtype {index.dtype} "
            f"shape {index.shape}"
        )
    values, counts = np.unique(index, return_counts=True)
    if values.size != index.size:
        raise ValueError(f"index values must be unique, but {int(values[counts > 1][0])} repeats")
    return index.astype(np.int64)


def part_counts(sizes: Mapping[str, float | int], n: int) -> dict[str, int]:
    """Number of items per part for ``n`` items.

    Sizes are either all integer counts (summing to <= n) or all float fractions (summing to
    <= 1). Fractions give ``floor(f * n)`` each, and the items left over up to
    ``floor(sum(f) * n)`` go to the parts with the largest remainders (the earlier part on
    ties), so fractions summing to 1 use every item.
    """
    if not sizes:
        raise ValueError("sizes is empty; give at least one part, e.g. {'train': 0.8}")
    kinds = set()
    for name, size in sizes.items():
        if isinstance(size, bool) or not isinstance(size, (int, float, np.integer, np.floating)):
            raise ValueError(f"size of part {name!r} must be an int or a float, got {size!r}")
        if not math.isfinite(size) or size < 0:
            raise ValueError(f"size of part {name!r} must be finite and >= 0, got {size!r}")
        kinds.add("count" if isinstance(size, (int, np.integer)) else "fraction")
    if len(kinds) > 1:
        raise ValueError(
            f"sizes mix integer counts and float fractions: {dict(sizes)}; use one kind"
        )

    if kinds == {"count"}:
        total = sum(int(size) for size in sizes.values())
        if total > n:
            raise ValueError(f"sizes ask for {total} items in all ({dict(sizes)}) but n is {n}")
        return {name: int(size) for name, size in sizes.items()}

    fraction_sum = sum(float(size) for size in sizes.values())
    if fraction_sum > 1.0 + FRACTION_TOLERANCE:
        raise ValueError(f"fractions sum to {fraction_sum:g} > 1: {dict(sizes)}")
    exact = {name: float(size) * n for name, size in sizes.items()}
    counts = {name: math.floor(value) for name, value in exact.items()}
    total = min(n, math.floor(fraction_sum * n + FRACTION_TOLERANCE * max(n, 1)))
    leftover = total - sum(counts.values())
    by_remainder = sorted(exact, key=lambda name: -(exact[name] - counts[name]))  # stable
    for name in by_remainder[:leftover]:
        counts[name] += 1
    return counts


def _stratified_order(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    position = np.empty(labels.shape[0], dtype=np.float64)
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        position[members] = (np.arange(members.size) + rng.random()) / members.size
    # Ties between classes (equal positions) are broken at random, not by index.
    return np.lexsort((rng.random(labels.shape[0]), position))


def split(
    n_or_index: int | torch.Tensor | np.ndarray | Sequence[int],
    sizes: Mapping[str, float | int],
    seed: int,
    stratify_labels: torch.Tensor | np.ndarray | Sequence[int] | None = None,
) -> dict[str, torch.Tensor]:
    """Disjoint, sorted int64 index tensors, one per part in ``sizes`` (in its order).

    Args:
        n_or_index: ``n`` to split 0..n-1, or a 1-D tensor of unique indices to split those.
        sizes: part name -> fraction (float, sum <= 1) or count (int, sum <= n). Items not
            assigned to any part are left out.
        seed: the same seed always gives the same parts.
        stratify_labels: one label per item of ``n_or_index``; if given, each part keeps the
            class proportions (within 2 items per class).
    """
    pool = _as_pool(n_or_index)
    counts = part_counts(sizes, pool.size)
    rng = np.random.default_rng(seed)
    if stratify_labels is None:
        order = rng.permutation(pool.size)
    else:
        if isinstance(stratify_labels, torch.Tensor):
            stratify_labels = stratify_labels.detach().cpu().numpy()
        labels = np.asarray(stratify_labels)
        if labels.shape != pool.shape:
            raise ValueError(
                f"stratify_labels has shape {labels.shape}, expected {pool.shape} "
                "(one label per item)"
            )
        order = _stratified_order(labels, rng)

    parts: dict[str, torch.Tensor] = {}
    start = 0
    for name, count in counts.items():
        parts[name] = torch.from_numpy(np.sort(pool[order[start : start + count]]))
        start += count
    return parts
