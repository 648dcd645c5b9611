"""Score your own encoders with SSLMem (paper 002): is an image memorized by the encoders that
trained on it?

    >>> from mnemoscope import sslmem
    >>> result = sslmem.score(f_encoders, g_encoders, images)      # uint8 [N, C, H, W]
    >>> result.normalized                                           # m(x) / range, [N]

``f_encoders`` were trained on the images of interest, ``g_encoders`` without them (otherwise
on the same data). Any torch module works: a mnemoscope ``Network`` is read at a tap
(``embedding`` by default, a ViT's whole token map), any other module at its output, flattened.
Scores follow eqs. 1 and 2:

    L_align(f, x) = E_{x', x'' ~ Aug(x)} || f(x') / |f(x')| - f(x'') / |f(x'')| ||_2
    m(x) = mean_g L_align(g, x) - mean_f L_align(f, x),     m_norm(x) = m(x) / (max m - min m)

``score_checkpoints`` does the same for safetensors checkpoints written by ``mnemoscope train``
(``mnemoscope sslmem-score`` on the command line). The statistics of the paper (t-tests,
bootstrap intervals, Kendall's tau and top-k overlap, AUROC) are in
``mnemoscope.analysis.stats``; the full study (splits, training, figures) is
``mnemoscope run configs/sslmem-demo.yaml``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from mnemoscope.measure.alignment import (
    DEFAULT_PAIRS,
    SSLMemScores,
    alignment_losses,
    alignment_losses_by_tap,
    center_alignment,
    memorization_score,
    normalize_scores,
    score,
)
from mnemoscope.models import Network

__all__ = [
    "DEFAULT_PAIRS",
    "SSLMemScores",
    "alignment_losses",
    "alignment_losses_by_tap",
    "center_alignment",
    "load_encoders",
    "memorization_score",
    "normalize_scores",
    "score",
    "score_checkpoints",
    "score_dataset",
]


def load_encoders(paths: Sequence[str | Path], device: str | torch.device = "cpu") -> list[Network]:
    """Networks rebuilt from weights checkpoints of ``mnemoscope train`` (safetensors only)."""
    from mnemoscope.training import load_network

    missing = [str(path) for path in paths if not Path(path).exists()]
    if missing:
        raise ValueError(f"checkpoint(s) not found: {', '.join(missing)}")
    return [load_network(path, device) for path in paths]


def score_checkpoints(
    f_paths: Sequence[str | Path],
    g_paths: Sequence[str | Path],
    images: torch.Tensor,
    *,
    device: str | torch.device = "cpu",
    **options: Any,
) -> SSLMemScores:
    """``score`` for checkpoint files: f from ``f_paths``, g from ``g_paths``."""
    if not f_paths or not g_paths:
        raise ValueError("give at least one f and one g checkpoint")
    f_encoders = load_encoders(f_paths, device)
    g_encoders = load_encoders(g_paths, device)
    return score(f_encoders, g_encoders, images, device=device, **options)


def score_dataset(
    f_paths: Sequence[str | Path],
    g_paths: Sequence[str | Path],
    out: str | Path,
    *,
    dataset: str = "fmnist-mini",
    split: str = "train",
    start: int = 0,
    count: int | None = None,
    data_options: dict[str, Any] | None = None,
    device: str | torch.device = "cpu",
    **options: Any,
) -> Any:
    """Score images ``start .. start + count`` of a dataset split with checkpointed encoders and
    write ``out/tables/sslmem_scores.{parquet,csv}`` (id, label, align_f, align_g, score_raw,
    score_norm). Returns the table. What ``mnemoscope sslmem-score`` runs."""
    from mnemoscope import data
    from mnemoscope.environment import run_environment
    from mnemoscope.store import RunDir, now_iso

    if split not in ("train", "test"):
        raise ValueError(f"split={split!r} is not one of ('train', 'test')")
    bundle = data.load(dataset, **(data_options or {}))
    image_set = getattr(bundle, split)
    stop = len(image_set) if count is None else start + count
    if not 0 <= start < stop <= len(image_set):
        raise ValueError(
            f"images {start}..{stop - 1} are out of range: the {split} split of {dataset!r} has "
            f"{len(image_set)} images"
        )
    chosen = image_set.subset(torch.arange(start, stop))
    result = score_checkpoints(f_paths, g_paths, chosen.images, device=device, **options)
    table = result.to_frame()
    table.insert(0, "label", chosen.labels.numpy())
    table.insert(0, "id", chosen.ids.numpy())
    run = RunDir(out)
    environment = run_environment(torch.device(device))
    run.update_meta(
        command="sslmem-score", started=now_iso(), environment=environment,
        f=[str(path) for path in f_paths], g=[str(path) for path in g_paths], dataset=dataset,
        split=split, start=start, stop=stop, options={k: str(v) for k, v in options.items()},
    )  # fmt: skip
    run.save_table("sslmem_scores", table)
    run.update_meta(finished=now_iso())
    return table
