"""Probes of a trained encoder, stored with its run: ``tables/probe`` and ``meta.json["probe"]``.

For each probed tap, frozen features (eval mode, fp32) of the training split fit

* a kNN classifier: k = 20 nearest neighbours by cosine similarity, majority vote (paper 003,
  section 2), and
* a linear probe: multinomial logistic regression on standardized features, full-batch L-BFGS
  (deterministic; paper 002 probes linearly),

and the table holds their accuracy on the test split. The features of every tap come from one
pass of ``mnemoscope.measure.features`` and the probes from ``mnemoscope.measure.probes``
(``feature_accuracy``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import torch
from torch import nn

from mnemoscope import data
from mnemoscope.measure.features import extract_features
from mnemoscope.measure.probes import feature_accuracy
from mnemoscope.store import RunDir
from mnemoscope.training.config import ProbeConfig

PROBE_TABLE = "probe"
# The seed of the stratified choice of probe images when a limit applies: fixed, so every
# encoder of a study is probed on the same images.
PROBE_SEED = 0


def probe_images(images: data.ImageSet, limit: int | None) -> data.ImageSet:
    """``images``, or a class-stratified seeded choice of ``limit`` of them."""
    if limit is None or limit >= len(images):
        return images
    index = data.split(len(images), {"probe": limit}, PROBE_SEED, images.labels)["probe"]
    return images.subset(index)


def probe_accuracy_table(
    network: nn.Module,
    bundle: data.DatasetBundle,
    config: ProbeConfig,
    device: torch.device | str | None = None,
) -> pd.DataFrame:
    """One row per (tap, probe): tap, probe ("knn" or "linear"), k, accuracy, train_size,
    test_size."""
    train_set = probe_images(bundle.train, config.train_limit)
    test_set = probe_images(bundle.test, config.test_limit)
    if len(test_set) == 0:
        raise ValueError(f"dataset {bundle.name!r} has no test images to probe on")
    if config.knn and config.k > len(train_set):
        raise ValueError(
            f"probe.k = {config.k} is more than the {len(train_set)} training images probed"
        )
    train_features = extract_features(network, train_set.images, config.taps, device=device)
    test_features = extract_features(network, test_set.images, config.taps, device=device)
    rows: list[dict[str, Any]] = []
    kinds = [kind for kind, wanted in (("knn", config.knn), ("linear", config.linear)) if wanted]
    for tap in config.taps:
        fit = (train_features[tap], train_set.labels)
        test = (test_features[tap], test_set.labels)
        for kind in kinds:
            accuracy = feature_accuracy(fit, test, kind, k=config.k, num_classes=bundle.num_classes)
            rows.append({"tap": tap, "probe": kind, "k": config.k if kind == "knn" else None,
                         "accuracy": accuracy})  # fmt: skip
    table = pd.DataFrame(rows)
    table["train_size"] = len(train_set)
    table["test_size"] = len(test_set)
    return table


def has_probe(run: RunDir, config: ProbeConfig) -> bool:
    """Whether ``run`` already holds the probe table of exactly ``config``."""
    stored = run.read_meta().get("probe", {}).get("config")
    table = run.path / "tables" / f"{PROBE_TABLE}.parquet"
    return stored == config.model_dump(mode="json") and table.exists()


def write_probe(run: RunDir, table: pd.DataFrame, config: ProbeConfig) -> None:
    """Store the table and, in meta.json, {"config": ..., "accuracy": {tap: {probe: acc}}}."""
    run.save_table(PROBE_TABLE, table)
    accuracy: dict[str, dict[str, float]] = {}
    for row in table.itertuples():
        accuracy.setdefault(row.tap, {})[row.probe] = float(row.accuracy)
    run.update_meta(probe={"config": config.model_dump(mode="json"), "accuracy": accuracy})
