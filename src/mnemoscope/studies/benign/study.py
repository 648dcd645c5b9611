"""``run``: the benign-memorization study of paper 003 from its config to tables, figures and a
verdict.

1. Data: a class-stratified training subset, the clean probe and test sets, a sample of training
   images with fixed augmented views for the invariance measure (eq. 2).
2. Networks (``sweeps.all_jobs``), each trained by the engine under ``out/runs`` with a hook that
   probes every tap at ``measure_at`` epochs (0 = initialization): finished runs are reused, so
   a second ``run`` only re-reads their measurements and redraws.
3. Transfer probes (fig. 10) of the final (and initial) networks on other datasets.
4. The toy model (appendix E, fig. 14).
5. Tables, the verdict (definition 4.1), ``summary.json`` and figures (``draw_figures``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from mnemoscope import augment, data
from mnemoscope.environment import pick_device, run_environment
from mnemoscope.progress import add_task, progress_display
from mnemoscope.store import RunDir, now_iso
from mnemoscope.studies import exclusive
from mnemoscope.studies.benign import tables
from mnemoscope.studies.benign.config import Config
from mnemoscope.studies.benign.figures import draw_figures
from mnemoscope.studies.benign.probing import (
    ProbeData,
    make_hook,
    transfer_accuracy,
)
from mnemoscope.studies.benign.sweeps import (
    Job,
    StudyData,
    all_jobs,
    random_label_set,
)
from mnemoscope.studies.benign.toy import toy_grid
from mnemoscope.training import load_network, train

HOOK_NAME = "benign"


def init_checkpoint(job: Job) -> str:
    """Name of the study checkpoint holding the initial weights of ``job``'s network."""
    return f"init-{job.config.run_name}"


def prepare_data(config: Config) -> StudyData:
    """Load the dataset and choose every subset; refuse impossible sizes before any training."""
    spec = config.data
    bundle = data.load(spec.name, **spec.options)
    count = len(bundle.train)
    train_size = spec.train_size or count
    if train_size > count:
        raise ValueError(
            f"data.train_size={train_size} exceeds the {count} training images of {spec.name!r}"
        )
    probe_size = spec.probe_size or train_size
    if probe_size > count:
        raise ValueError(
            f"data.probe_size={probe_size} exceeds the {count} training images of {spec.name!r}"
        )
    labels = bundle.train.labels
    parts = data.split(
        count,
        {"train": train_size, "extra": max(0, probe_size - train_size)},
        seed=spec.split_seed,
        stratify_labels=labels,
    )
    train_index = parts["train"]
    if probe_size < train_size:
        fit_index = data.split(
            train_index,
            {"fit": probe_size},
            seed=spec.split_seed,
            stratify_labels=labels[train_index],
        )["fit"]
    else:
        fit_index = torch.cat([train_index, parts["extra"]]).sort().values

    test = bundle.test
    if spec.test_size is not None and spec.test_size < len(test):
        test_index = data.split(
            len(test), {"test": spec.test_size}, seed=spec.split_seed, stratify_labels=test.labels
        )["test"]
        test = test.subset(test_index)

    invariance = config.invariance
    if invariance.images > train_size:
        raise ValueError(
            f"invariance.images={invariance.images} exceeds data.train_size={train_size}: the "
            "invariance sample is drawn from the training images"
        )
    sample = data.split(
        train_index,
        {"sample": invariance.images},
        seed=invariance.seed,
        stratify_labels=labels[train_index],
    )["sample"]
    augmentation = augment.get(
        config.training.augment.name, size=bundle.image_size, **config.training.augment.params
    )
    views = augment.make_bank(
        bundle.train.images[sample], augmentation, invariance.views, invariance.seed
    )
    probe = ProbeData(
        images=bundle.train.images,
        labels=labels,
        fit_index=fit_index,
        test_images=test.images,
        test_labels=test.labels,
        invariance_images=bundle.train.images[sample],
        invariance_views=views,
    )
    if len(fit_index) <= config.probe.k:
        raise ValueError(
            f"the clean probe has {len(fit_index)} images, not more than k = "
            f"{config.probe.k}: raise data.probe_size or train_size"
        )
    return StudyData(
        bundle, train_index, probe, random_label_set(bundle, config.training.label_seed)
    )


def load_transfer_targets(config: Config, source: data.DatasetBundle) -> list[data.DatasetBundle]:
    """The transfer datasets (fig. 10), checked against the source's channels up front."""
    targets = []
    for target in config.sweeps.transfer:
        bundle = data.load(target.name, **target.options)
        if bundle.channels != source.channels:
            raise ValueError(
                f"transfer target {target.name!r} has {bundle.channels}-channel images but the "
                f"networks take {source.channels}: add `channels: {source.channels}` to its options"
            )
        if len(bundle.train) <= config.probe.k:
            raise ValueError(
                f"transfer target {target.name!r} has {len(bundle.train)} training "
                f"images, not more than k = {config.probe.k}"
            )
        targets.append(bundle)
    return targets


@exclusive
def run(config: Config, out: Path, *, progress=None, quiet: bool = False) -> RunDir:
    """Run the study into ``out`` (see the module docstring); returns its ``RunDir``."""
    out = Path(out)
    store = RunDir(out)
    study = prepare_data(config)
    transfer_targets = load_transfer_targets(config, study.bundle)
    jobs = all_jobs(config, study)
    store.write_config(config.model_dump(mode="json"))
    device = pick_device(config.training.device)
    store.update_meta(study="benign", environment=run_environment(device), started=now_iso())
    root = out / "runs"
    toy_cells = len(config.toy.samples) * len(config.toy.augmentations) * config.toy.seeds
    with progress_display(progress, quiet) as display:
        overall = add_task(
            display, "benign study", total=len(jobs) + 2 + (toy_cells if config.toy.enabled else 0)
        )
        results = {}
        with store.timed("training"):
            for job in jobs:
                results[id(job)] = _train_job(job, config, study.probe, store, root, display)
                _advance(display, overall)
        measurements = {id(job): results[id(job)].measurements() for job in jobs}
        metrics = {id(job): results[id(job)].metrics() for job in jobs}
        with store.timed("transfer"):
            transfer = _transfer_table(config, jobs, results, store, transfer_targets)
        _advance(display, overall)
        toy = pd.DataFrame()
        if config.toy.enabled:
            with store.timed("toy"):
                toy = toy_grid(config.toy, display, overall)
        built = tables.build_tables(config, jobs, measurements, metrics, transfer, toy)
        for name, table in built.items():
            store.save_table(name, table)
        summary = tables.summary(config, built, study.bundle.num_classes)
        store.write_summary(summary)
        draw_figures(store)
        _advance(display, overall)
    store.update_meta(finished=now_iso(), runs=sorted({job.config.run_name for job in jobs}))
    store.mark_complete()
    return store


def _train_job(job: Job, config: Config, probe: ProbeData, store: RunDir, root: Path, display):
    # Build a derived training set (a bank of views) only when the run still needs training.
    trained = RunDir(root / job.config.run_name).is_complete
    bundle = None if trained else job.bundle()
    final = float(job.config.epochs)
    save_init = (store, init_checkpoint(job)) if job.save_init else None
    hook = make_hook(probe, job.targets, config.probe, final_epoch=final, save_init=save_init)
    return train(
        job.config, root, {HOOK_NAME: hook}, bundle=bundle, progress=display, quiet=display is None
    )


def _advance(display, task) -> None:
    if display is not None and task is not None:
        display.advance(task)


def _transfer_table(config, jobs, results, store, targets) -> pd.DataFrame:
    """Fig. 10: kNN of the embedding on each target dataset, for the init network, every main
    setting and every label-noise run."""
    if not targets:
        return pd.DataFrame()
    rows: list[dict[str, Any]] = []
    networks: list[tuple[dict[str, Any], Any]] = []
    # The initial weights, saved by the reference run's hook at epoch 0 (absent only if that
    # run finished elsewhere and was copied in: the init row is then left out).
    reference = next(job for job in jobs if job.save_init)
    init_path = store.checkpoint_path(init_checkpoint(reference))
    if init_path.exists():
        init_row = {"setting": "init", "label_noise": math.nan, "augmented": False}
        networks.append((init_row, lambda: load_network(init_path)))
    for job in jobs:
        if job.sweep == "main":
            setting = job.label
            noise = 1.0 if setting.startswith("random") else 0.0
            row = {"setting": setting, "label_noise": noise, "augmented": setting.endswith("+da")}
        elif job.sweep == "label_noise":
            row = {
                "setting": job.label,
                "label_noise": job.params["label_noise"],
                "augmented": job.params["augmented"],
            }
        else:
            continue
        networks.append((row, lambda job=job: results[id(job)].model()))
    device = pick_device(config.training.device)
    for row, load in networks:
        network = load().to(device)
        for spec, target in zip(config.sweeps.transfer, targets, strict=True):
            accuracy = transfer_accuracy(
                network,
                target.train.images,
                target.train.labels,
                target.test.images,
                target.test.labels,
                config.probe,
            )
            rows.append({"target": spec.name, **row, "accuracy": accuracy})
    return pd.DataFrame(rows)
