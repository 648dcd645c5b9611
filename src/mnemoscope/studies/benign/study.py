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
from typing import Any

import pandas as pd

from mnemoscope import data
from mnemoscope.studies.benign import tables
from mnemoscope.studies.benign.config import Config
from mnemoscope.studies.benign.figures import draw_figures
from mnemoscope.studies.benign.probing import probe_data, transfer_accuracy
from mnemoscope.studies.benign.summary import BenignSummary
from mnemoscope.studies.benign.sweeps import StudyData, all_jobs, random_label_set
from mnemoscope.studies.benign.toy import toy_grid
from mnemoscope.studies.frame import Frame
from mnemoscope.training import RunSpec, load_network
from mnemoscope.training.config import epoch_checkpoint


def prepare_data(config: Config, bundle: data.DatasetBundle | None = None) -> StudyData:
    """Load the dataset (unless given) and choose every subset; refuse impossible sizes before
    any training."""
    if bundle is None:
        bundle = data.load(config.data.name, **config.data.options)
    probe, train_index = probe_data(config.data, config.invariance, config.train.augment,
                                    config.probe, bundle)  # fmt: skip
    return StudyData(
        bundle, train_index, probe, random_label_set(bundle, config.train.objective.label_seed)
    )


def study_specs(config: Config, bundle: data.DatasetBundle) -> list[RunSpec]:
    """Every run the study trains, on ``bundle`` (the dataset ``config.data`` names)."""
    return [job.spec(config) for job in all_jobs(config, prepare_data(config, bundle))]


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


def run(config: Config, frame: Frame) -> BenignSummary:
    """Run the study in ``frame`` (see the module docstring)."""
    study = prepare_data(config)
    transfer_targets = load_transfer_targets(config, study.bundle)
    jobs = all_jobs(config, study)
    store = frame.start(config.train.device)
    toy_cells = len(config.toy.samples) * len(config.toy.augmentations) * config.toy.repetitions
    frame.steps(len(jobs) + 2 + (toy_cells if config.toy.enabled else 0))
    trained = frame.train([job.spec(config) for job in jobs], bundle=study.bundle)
    results = {id(job): result for job, result in zip(jobs, trained, strict=True)}
    measurements = {id(job): results[id(job)].measurements() for job in jobs}
    metrics = {id(job): results[id(job)].metrics() for job in jobs}
    with store.timed("transfer"):
        transfer = _transfer_table(config, jobs, results, frame.device, transfer_targets)
    frame.advance()
    toy = pd.DataFrame()
    if config.toy.enabled:
        with store.timed("toy"):
            toy = toy_grid(config.toy, frame.advance)
    built = tables.build_tables(config, jobs, measurements, metrics, transfer, toy)
    for name, table in built.items():
        store.save_table(name, table)
    summary = tables.summary(config, built, study.bundle.num_classes)
    with store.timed("figures"):
        draw_figures(store, summary.chance)
    frame.advance()
    store.update_meta(runs=sorted({result.run.path.name for result in results.values()}))
    return summary


def _transfer_table(config, jobs, results, device, targets) -> pd.DataFrame:
    """Fig. 10: kNN of the embedding on each target dataset, for the init network, every main
    setting and every label-noise run."""
    if not targets:
        return pd.DataFrame()
    rows: list[dict[str, Any]] = []
    networks: list[tuple[dict[str, Any], Any]] = []
    # The initial weights, kept by the reference run (the first main setting) as epoch 0.
    reference = next(job for job in jobs if 0 in job.config.save_epochs)
    init_path = results[id(reference)].run.checkpoint_path(epoch_checkpoint(0))
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
