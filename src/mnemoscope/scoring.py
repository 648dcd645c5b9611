"""Score your own encoders with SSLMem (paper 002): is an image memorized by the encoders that
trained on it? (The study that trains encoders and scores them is ``mnemoscope.studies.sslmem``.)

    >>> from mnemoscope import scoring
    >>> result = scoring.score(f_encoders, g_encoders, images)     # uint8 [N, C, H, W]
    >>> result.normalized                                           # m(x) / range, [N]

``f_encoders`` were trained on the images of interest, ``g_encoders`` without them (otherwise
on the same data). Any torch module works: a mnemoscope ``Network`` is read at a tap (``auto``
by default: the full representation before pooling, i.e. the last feature map ``layer4`` of a
convnet and the whole token map ``tokens`` of a ViT), any other module at its output, flattened.
Scores follow eqs. 1 and 2:

    L_align(f, x) = E_{x', x'' ~ Aug(x)} || f(x') / |f(x')| - f(x'') / |f(x'')| ||_2
    m(x) = mean_g L_align(g, x) - mean_f L_align(f, x),     m_norm(x) = m(x) / (max m - min m)

``score(..., **SCORERS["authors-fixed"])`` is the authors' released scorer with its pixel-range
bug fixed (clean image against one view of their augmentation; ``measure.alignment``).
``score_checkpoints`` does the same for safetensors checkpoints written by ``mnemoscope train``
(``mnemoscope sslmem-score`` on the command line). The statistics of the paper (t-tests,
bootstrap intervals, Kendall's tau and top-k overlap, AUROC) are in
``mnemoscope.analysis.stats``; the full study (splits, training, figures) is
``mnemoscope run configs/sslmem-demo.yaml``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from mnemoscope.measure.alignment import (
    DEFAULT_PAIRS,
    SCORERS,
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
    "SCORERS",
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
    "score_study",
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
    from mnemoscope.environment import pick_device

    if not f_paths or not g_paths:
        raise ValueError("give at least one f and one g checkpoint")
    device = pick_device(str(device))  # an unavailable device is refused by name, first
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
    ids: Sequence[int] | None = None,
    data_options: dict[str, Any] | None = None,
    device: str | torch.device = "cpu",
    **options: Any,
) -> Any:
    """Score images ``start .. start + count`` of a dataset split (or the images of ``ids``, in
    that order) with checkpointed encoders and write ``out/tables/sslmem_scores.{parquet,csv}``
    (id, label, align_f, align_g, score_raw, score_norm). Returns the table. What
    ``mnemoscope sslmem-score`` runs; ``out`` is claimed as its kind of directory (``_output``)."""
    with _output(out) as run:
        return _score_dataset(f_paths, g_paths, run, dataset=dataset, split=split, start=start,
                              count=count, ids=ids, data_options=data_options, device=device,
                              **options)  # fmt: skip


def _score_dataset(
    f_paths: Sequence[str | Path],
    g_paths: Sequence[str | Path],
    run: Any,
    *,
    dataset: str,
    split: str,
    start: int,
    count: int | None,
    ids: Sequence[int] | None,
    data_options: dict[str, Any] | None,
    device: str | torch.device,
    **options: Any,
) -> Any:
    from mnemoscope import data
    from mnemoscope.environment import pick_device, run_environment
    from mnemoscope.store import now_iso

    if split not in ("train", "test"):
        raise ValueError(f"split={split!r} is not one of ('train', 'test')")
    device = pick_device(str(device))
    bundle = data.load(dataset, **(data_options or {}))
    image_set = getattr(bundle, split)
    if ids is not None:
        where = f"the {split} split of {dataset!r}"
        chosen = image_set.subset(_positions(image_set.ids, ids, where))
        start, stop = None, None
    else:
        stop = len(image_set) if count is None else start + count
        if not 0 <= start < stop <= len(image_set):
            raise ValueError(
                f"images {start}..{stop - 1} are out of range: the {split} split of {dataset!r} "
                f"has {len(image_set)} images"
            )
        chosen = image_set.subset(torch.arange(start, stop))
    result = score_checkpoints(f_paths, g_paths, chosen.images, device=device, **options)
    table = result.to_frame()
    table.insert(0, "label", chosen.labels.numpy())
    table.insert(0, "id", chosen.ids.numpy())
    environment = run_environment(device)
    run.unmark_complete()  # the first write: an earlier score's COMPLETE goes
    run.update_meta(
        command="sslmem-score", started=now_iso(), environment=environment,
        f=[str(path) for path in f_paths], g=[str(path) for path in g_paths], dataset=dataset,
        split=split, start=start, stop=stop, ids=None if ids is None else len(ids),
        options={k: str(v) for k, v in options.items()},
    )  # fmt: skip
    run.save_table("sslmem_scores", table)
    run.update_meta(finished=now_iso())
    run.mark_complete()
    return table


@contextlib.contextmanager
def _output(out: str | Path) -> Iterator[Any]:
    """Own ``out`` as an ``sslmem-score`` output for the block (``store.claim``): one writer at
    a time, and never a directory another command wrote (a study's own sslmem_scores hold
    more than a rescore does). Its COMPLETE and MANIFEST come last (``RunDir.mark_complete``)."""
    from mnemoscope.store import claim

    with claim(out, kind="sslmem-score") as run:
        yield run


# The largest ids file read (``--ids``): 64 MiB holds millions of ids, more than any split has
# images; beyond it the parse alone would take gigabytes.
MAX_IDS_FILE_BYTES = 64 * 2**20


def read_ids(path: str | Path) -> list[int]:
    """Image ids from a file: a CSV with an ``id`` column, or integers separated by spaces,
    commas or newlines; each id once, in the order of its first appearance (an image scored
    twice is the same score). A file over ``MAX_IDS_FILE_BYTES`` is refused."""
    from mnemoscope.errors import shorten

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"--ids: ids file {path} does not exist")
    size = path.stat().st_size
    if size > MAX_IDS_FILE_BYTES:
        raise ValueError(f"--ids: {path} is {size:,} bytes, more than an ids file needs "
                         f"(at most {MAX_IDS_FILE_BYTES:,}): give each image id once")  # fmt: skip
    if path.suffix == ".csv":
        import pandas as pd

        try:
            frame = pd.read_csv(path)
        except (ValueError, UnicodeDecodeError) as error:  # pandas' parser errors are ValueErrors
            raise ValueError(f"--ids: {path} is not a readable CSV: {error}") from None
        if "id" not in frame:
            raise ValueError(f"--ids: {path} has no 'id' column (columns: "
                             f"{shorten(list(frame.columns))})")  # fmt: skip
        try:
            ids = [int(value) for value in frame["id"]]
        except (TypeError, ValueError) as error:
            raise ValueError(f"--ids: {path}: column 'id' must hold integer image ids, "
                             f"{error}") from None  # fmt: skip
    else:
        import re

        ids = {}  # one entry per distinct id, as read: memory bounded by the distinct ids
        try:
            for token in re.finditer(r"[^\s,]+", path.read_text()):
                ids[int(token.group())] = None
        except (ValueError, UnicodeDecodeError) as error:
            raise ValueError(f"--ids: {path}: expected integer image ids, {error}") from None
    if not ids:
        raise ValueError(f"--ids: {path} holds no image id")
    return list(dict.fromkeys(ids))


def _positions(all_ids: torch.Tensor, wanted: Sequence[int], where: str) -> torch.Tensor:
    """Positions of ``wanted`` ids in ``all_ids``, in the order asked; every id must exist."""
    position = {int(image_id): index for index, image_id in enumerate(all_ids.tolist())}
    missing = [image_id for image_id in wanted if int(image_id) not in position]
    if missing:
        raise ValueError(f"{len(missing)} id(s) not in {where}, e.g. {missing[:5]}")
    return torch.tensor([position[int(image_id)] for image_id in wanted], dtype=torch.long)


def score_study(
    study_dir: str | Path,
    out: str | Path,
    *,
    device: str | torch.device = "cpu",
    **overrides: Any,
) -> Any:
    """Rescore an sslmem study's candidates S_C (ordinary, then planted: the images the study
    stored in ``arrays/candidate_images.npy``) with the study's own encoders f and g
    (``tables/sslmem_runs``, final checkpoints) and its measurement options (config section
    ``measure``; ``overrides`` replace single options). Same views, same positions: the raw
    scores reproduce the study's plain ``score_raw`` of S_C. Writes and returns
    ``out/tables/sslmem_scores`` (id, kind, label, align_f, align_g, score_raw, score_norm).
    ``out`` is claimed as an sslmem-score output (``_output``): never the study itself."""
    with _output(out) as run:
        return _score_study(Path(study_dir), run, device=device, **overrides)


def _score_study(study_dir: Path, run: Any, *, device: str | torch.device,
                 **overrides: Any) -> Any:  # fmt: skip
    import json

    import numpy as np
    import pandas as pd

    from mnemoscope import studies
    from mnemoscope.config_file import read_config
    from mnemoscope.environment import run_environment
    from mnemoscope.store import check_outputs, now_iso
    from mnemoscope.studies.sslmem import roles
    from mnemoscope.studies.sslmem.study import measure_options

    config_path = study_dir / "config.yaml"
    raw = read_config(config_path) if config_path.is_file() else None
    if not isinstance(raw, dict) or raw.get("study") != "sslmem":
        raise ValueError(f"{study_dir} is not an sslmem study directory (no config.yaml with "
                         "study: sslmem)")  # fmt: skip
    if raw.get("repeat"):
        seeds = sorted(path.name for path in study_dir.glob("study-seed-*") if path.is_dir())
        raise ValueError(f"{study_dir} is a repeated study: its f, g and candidates are in its "
                         f"study seeds' directories ({', '.join(seeds) or 'study-seed-<k>'}); "
                         "give --from-study one of those")  # fmt: skip
    options = measure_options(studies.load_config(raw))
    meta_path = study_dir / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    if "view_draws" in meta:  # the pairs the study drew (pairs: auto): its very views
        options["pairs"] = meta["view_draws"]
    options |= overrides
    check_outputs(study_dir, "sslmem-score --from-study")
    scores_path = study_dir / "tables" / "sslmem_scores.parquet"
    images_path = study_dir / "arrays" / "candidate_images.npy"
    for path in (scores_path, images_path):
        if not path.exists():
            raise ValueError(f"{path} does not exist: has the study finished scoring?")
    points = pd.read_parquet(scores_path)
    candidates = points[points["subset"] == "S_C"].reset_index(drop=True)
    images = torch.from_numpy(np.load(images_path, allow_pickle=False))
    if len(candidates) != len(images):
        raise ValueError(f"{images_path} holds {len(images)} images for {len(candidates)} "
                         "candidates in sslmem_scores")  # fmt: skip
    f_paths, g_paths = roles.checkpoints(study_dir, "f"), roles.checkpoints(study_dir, "g")
    result = score_checkpoints(f_paths, g_paths, images, device=device, **options)
    table = result.to_frame()
    for position, column in enumerate(("id", "kind", "label")):
        table.insert(position, column, candidates[column].to_numpy())
    run.unmark_complete()  # the first write: an earlier score's COMPLETE goes
    run.update_meta(
        command="sslmem-score --from-study", started=now_iso(), study=str(study_dir.resolve()),
        environment=run_environment(torch.device(device)), f=[str(p) for p in f_paths],
        g=[str(p) for p in g_paths], options={k: str(v) for k, v in options.items()},
    )  # fmt: skip
    run.save_table("sslmem_scores", table)
    run.update_meta(finished=now_iso())
    run.mark_complete()
    return table
