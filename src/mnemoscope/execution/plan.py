"""``plan``: what a config will train, before anything runs.

For every run of a study: whether it is already complete under the run root, and its images x
epochs; per kind of run (model, objective, batch size, image size) the seconds per training
image measured here with a few optimizer steps on random images of the right shape, hence an
estimate of the training time left (hooks' measurements come on top). Where the dataset is not
on this machine (a paper config), the runs are built on a stand-in of the catalogued size, so
counts and costs hold but which runs are complete cannot be told. A run's images are counted
from its data recipe and subset (``training_images``), without preparing it: only the one run
timed per kind is prepared, and only when measuring.

For the models the paper configs train (ResNet-18/50, ViT-tiny) it adds an estimate on one
GPU: images x epochs over the throughput those configs' headers assume for one H100 in bf16
(``GPU_IMAGES_PER_SECOND``: assumptions, not measurements), scaled by pixels from 32 x 32.
``measure=False`` skips the timing here (a paper config's batch of 1,024 ResNet-50 images does
not fit a laptop's memory).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from mnemoscope import data
from mnemoscope.store import RunDir
from mnemoscope.training import RunSpec, TrainConfig
from mnemoscope.training.engine import time_steps, training_subset
from mnemoscope.training.spec import as_spec


def dataset_or_standin(name: str, options: dict[str, Any]) -> tuple[data.DatasetBundle, bool]:
    """The dataset, or (when it is not here) zeros of its catalogued shape, sizes and classes;
    the flag says whether it is the real one."""
    try:
        return data.load(name, **options), True
    except (FileNotFoundError, ValueError, OSError):
        entry = next((e for e in data.catalog() if e.name == name), None)
        if entry is None or entry.image_shape is None or entry.train_size is None:
            raise
    classes = entry.num_classes or 2

    def images(count: int) -> data.ImageSet:
        labels = torch.arange(count) % classes
        return data.ImageSet(torch.zeros(count, *entry.image_shape, dtype=torch.uint8), labels,
                             torch.arange(count))  # fmt: skip

    test = images(entry.test_size or 2 * classes)
    return data.DatasetBundle(name, images(entry.train_size), test,
                              tuple(str(c) for c in range(classes))), False  # fmt: skip


def seconds_per_image(spec: RunSpec, bundle: data.DatasetBundle, steps: int = 3,
                      device: str | None = None) -> float:  # fmt: skip
    """Training seconds per image of ``spec``'s kind of run on ``device`` (default: the
    config's): ``steps`` optimizer steps on random images after one warm-up step
    (``training.engine.time_steps``)."""
    update = {"measure_at": []} if device is None else {"measure_at": [], "device": device}
    config = spec.config.model_copy(update=update)
    seconds, batch = time_steps(RunSpec(config, spec.data), bundle, steps=steps)
    return seconds / batch


# One-GPU training throughput that the paper configs' headers assume: training images per
# second on one H100 in bf16 at 32 x 32 px, keyed by (model, objective); None = any other
# objective of that model. Estimates, not measurements (no GPU was at hand when they were
# written): `plan` labels every number derived from them as such, with its source.
GPU_IMAGES_PER_SECOND: dict[tuple[str, str | None], tuple[float, str]] = {
    ("resnet18", None): (12_000, "profiles-paper.yaml's ~12,000 images/s"),
    ("resnet18", "simclr"): (6_000, "profiles-paper.yaml's ~12,000 images/s, two views each"),
    ("resnet50", None): (8_000, "sslmem-paper.yaml's ~8,000 images/s"),
    ("resnet50", "dino"): (5_800, "sslmem-methods-paper.yaml's ~1.3 h for 45,000 x 600"),
    ("vit-tiny", None): (7_500, "sslmem-methods-paper.yaml's ~1 h for 45,000 x 600 (DINO)"),
    ("vit-tiny", "mae"): (3_750, "sslmem-methods-paper.yaml's ~2 h for 45,000 x 600"),
}
GPU_REFERENCE_PIXELS = 32 * 32


def gpu_assumption(config: TrainConfig) -> tuple[float, str] | None:
    """The one-GPU throughput assumed for ``config``'s model and objective and its source
    (``GPU_IMAGES_PER_SECOND``); None for a model without one (e.g. the CPU convnets)."""
    table = GPU_IMAGES_PER_SECOND
    model, objective = config.model.name, config.objective.name
    return table.get((model, objective)) or table.get((model, None))


def gpu_seconds_per_image(config: TrainConfig, image_size: tuple[int, int]) -> float:
    """Estimated training seconds per image on one GPU (NaN without an assumption): the
    assumed throughput at 32 x 32, scaled by the images' pixels."""
    found = gpu_assumption(config)
    if found is None:
        return float("nan")
    return image_size[0] * image_size[1] / GPU_REFERENCE_PIXELS / found[0]


def kind(config: TrainConfig) -> str:
    """The kind of run whose step time is measured once: model, objective, batch size."""
    return f"{config.model.name} {config.objective.name} b{config.batch_size}"


def training_images(
    spec: RunSpec, bundle: data.DatasetBundle, built: dict[str, tuple[int, tuple[int, int]]]
) -> tuple[int, tuple[int, int]]:
    """The number of images ``spec``'s run trains on and their (H, W), without preparing the
    run (no objective, no normalization statistics): its ``data.subset`` of the training split
    that its data recipe gives from ``bundle`` (``DataRecipe.training_shape``; ``bundle``
    itself without a recipe), checked as training checks it. ``built`` caches each recipe's
    split size and image size by its description (the runs of a study share a few recipes)."""
    if spec.data is None:
        size, image_size = len(bundle.train), bundle.image_size
    else:
        recipe = json.dumps(spec.data.describe(), sort_keys=True)
        if recipe not in built:
            built[recipe] = spec.data.training_shape(bundle)
        size, image_size = built[recipe]
    return len(training_subset(spec.config, size)), image_size


def plan_table(
    specs: list[RunSpec],
    roots: list[Path],
    bundle: data.DatasetBundle,
    real: bool,
    device: str | None = None,
    measure: bool = True,
) -> pd.DataFrame:
    """One row per distinct run: kind, run, complete (None: unknown; complete when its directory
    is complete under any of ``roots``: a study that nests another keeps the nested study's runs
    in that study's own ``runs/``), problems (the files of a complete run that are not its
    manifest's: ``RunDir.verify`` without hashes), images, epochs,
    image_epochs, the estimated training seconds on this device (NaN with ``measure=False``)
    and on one GPU (gpu_seconds, an estimate from ``GPU_IMAGES_PER_SECOND``; NaN for models
    without an assumption) and the basis of that estimate (gpu_basis)."""
    rows, measured, built = [], {}, {}
    for spec in {as_spec(s).run_name: s for s in specs}.values():
        config = spec.config
        images, image_size = training_images(spec, bundle, built)
        name = kind(config)
        if name not in measured:
            measured[name] = (seconds_per_image(spec, bundle, device=device) if measure
                              else float("nan"))  # fmt: skip
        image_epochs = images * config.epochs
        assumed = gpu_assumption(config)
        runs = [RunDir(root / spec.run_name) for root in roots] if real else []
        complete = any(run.is_complete for run in runs) if real else None
        # A finished run's files are its manifest's (store: RunDir.verify; names only here,
        # not the bytes of every checkpoint); anything else is flagged by plan_summary.
        problems = [problem for run in runs for problem in run.verify(hashes=False)]
        rows.append({"kind": name, "run": spec.run_name, "complete": complete,
                     "problems": problems,
                     "images": images, "epochs": config.epochs, "image_epochs": image_epochs,
                     "seconds": image_epochs * measured[name],
                     "gpu_seconds": image_epochs * gpu_seconds_per_image(config, image_size),
                     "gpu_basis": None if assumed is None else
                     f"{assumed[0]:,.0f} images/s at 32 x 32 px ({assumed[1]})"})  # fmt: skip
    return pd.DataFrame(rows)


# The columns of ``plan_summary``'s rows, as `mnemoscope plan` prints them.
PLAN_COLUMNS = ("kind", "runs", "complete", "images x epochs", "seconds/image", "estimate",
                "1-GPU estimate*")  # fmt: skip


def plan_summary(
    table: pd.DataFrame, real: bool, measure: bool
) -> tuple[list[tuple[str, ...]], list[str]]:
    """What `mnemoscope plan` prints of ``plan_table``'s table: one row per kind of run
    (``PLAN_COLUMNS``: runs, complete ones, images x epochs, the measured seconds per image,
    the estimate here and on one GPU for the runs left) and the lines under it (runs left and
    the training time here; the basis of the one-GPU estimate). ``real``: the dataset is the
    real one (else completeness is unknown and every run is left); ``measure``: the table
    holds timings. A complete run whose files are not its manifest's (``problems``) is
    flagged in a last line, naming the first few."""
    rows = []
    for name, group in table.groupby("kind", sort=False):
        done = "?" if not real else f"{int(group['complete'].sum())}"
        left = group if not real else group[~group["complete"].astype(bool)]
        per_image = group["seconds"].sum() / group["image_epochs"].sum()
        rows.append((name, str(len(group)), done, f"{int(group['image_epochs'].sum()):,}",
                     "-" if not measure else f"{per_image:.2e}",
                     duration(left["seconds"].sum()) if measure else "-",
                     duration(left["gpu_seconds"].sum(min_count=1))))  # fmt: skip
    left = table if not real else table[~table["complete"].astype(bool)]
    if measure:
        lines = [f"{len(table)} runs, {len(left)} to train: about "
                 f"{duration(left['seconds'].sum())} of training on this machine "
                 "(one run after another; measurements come on top)"]  # fmt: skip
    else:
        lines = [f"{len(table)} runs, {len(left)} to train (not timed here: --no-measure)"]
    assumed = left.dropna(subset=["gpu_basis"])
    if len(assumed):
        first_basis = assumed.groupby("kind", sort=False)["gpu_basis"].first()
        bases = "; ".join(f"{name}: {basis}" for name, basis in first_basis.items())
        lines.append(
            f"* one-GPU estimate: about {duration(assumed['gpu_seconds'].sum())} of training "
            f"for the {len(assumed)} runs left of the kinds below on one H100 in bf16, run after "
            "run. An ESTIMATE, not a measurement: images x epochs over the throughput the paper "
            f"configs' headers assume (scaled by pixels from 32 x 32): {bases}.")  # fmt: skip
    flagged = [problems for problems in table.get("problems", []) if len(problems)]
    if flagged:
        first = [problem for problems in flagged for problem in problems][:3]
        lines.append(
            f"warning: {len(flagged)} complete run(s) hold files that are not their finished "
            f"run's: {'; '.join(first)}. Their results may not be their configs': delete such "
            "a run directory to train it again")  # fmt: skip
    return rows, lines


def duration(seconds: float) -> str:
    """``seconds`` as "H h MM min" or "M min SS s"; "-" for NaN (nothing to estimate from)."""
    if seconds != seconds:  # NaN
        return "-"
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours} h {rest // 60:02d} min" if hours else f"{rest // 60} min {rest % 60:02d} s"
