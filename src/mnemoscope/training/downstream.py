"""Downstream probes: linear-probe accuracy of a frozen encoder on several labelled datasets.

Paper 002 (section 4.4, fig. 3, figs. 6-7, tables 14 and 17) judges an encoder by linear
probing on the dataset it trained on *and* on others (CIFAR-10 -> CIFAR-100, STL-10): a
multinomial logistic regression is fitted on the frozen embedding of a downstream dataset's
training split and scored on its test split. Here each downstream dataset is a
``DownstreamConfig`` (any name of ``mnemoscope.data``); its images are brought to the
encoder's input shape (``size`` and ``channels`` of the images it trained on, unless the
options set them), so e.g. an encoder trained on 28 px Fashion-MNIST is probed on 8 px digits
resized to 28 px. A dataset whose files are not on this machine is skipped with a note when
``if_missing: skip`` (e.g. the full Fashion-MNIST), and refused otherwise.

``load_downstream`` loads the sets once; ``downstream_accuracy(network, sets)`` probes one
encoder on all of them. The probe images of each split are a class-stratified seeded choice of
at most ``train_limit`` / ``test_limit`` images (``probe.probe_images``), the same for every
encoder, and the probe itself is full-batch L-BFGS (deterministic).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
import torch
from pydantic import Field, field_validator
from torch import nn

from mnemoscope import data
from mnemoscope.measure import probes
from mnemoscope.strict import StrictModel
from mnemoscope.training.probe import probe_images


class DownstreamConfig(StrictModel):
    """One downstream dataset of the probe."""

    name: str = Field(description="dataset name (see `mnemoscope datasets`)")
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="options of mnemoscope.data.load; size and channels default to the "
        "encoder's training images",
    )
    label: str | None = Field(None, description="name in tables and figures; None = name")
    train_limit: int | None = Field(
        2000, ge=2, description="probe fitted on at most this many training images (stratified)"
    )
    test_limit: int | None = Field(
        2000, ge=1, description="probe scored on at most this many test images (stratified)"
    )
    if_missing: Literal["error", "skip"] = Field(
        "error", description="dataset files not on this machine: refuse (error) or skip, noted"
    )

    @field_validator("name")
    @classmethod
    def _known(cls, name: str) -> str:
        if name not in data.names():
            raise ValueError(
                f"unknown downstream dataset {name!r}: choose one of {', '.join(data.names())}"
            )
        return name

    @property
    def shown(self) -> str:
        return self.label or self.name


@dataclass(frozen=True)
class DownstreamSet:
    """A loaded downstream dataset: its probe images (already limited) and class count."""

    label: str
    train: data.ImageSet
    test: data.ImageSet
    num_classes: int


def check_labels(configs: list[DownstreamConfig]) -> None:
    shown = [config.shown for config in configs]
    repeated = sorted({label for label in shown if shown.count(label) > 1})
    if repeated:
        raise ValueError(f"downstream datasets {repeated} appear twice: give each its own label")


def load_downstream(
    configs: list[DownstreamConfig], like: data.DatasetBundle
) -> tuple[list[DownstreamSet], list[str]]:
    """The downstream sets, shaped like ``like``'s training images, and one note per dataset
    skipped because its files are missing (``if_missing: skip``)."""
    check_labels(configs)
    height, width = like.image_size
    if height != width:
        raise ValueError(
            f"downstream probes resize to the encoder's input, which must be square: "
            f"{like.name!r} has {height}x{width} images"
        )
    sets, notes = [], []
    for config in configs:
        options = {"size": height, "channels": like.channels, **config.options}
        try:
            bundle = data.load(config.name, **options)
        except FileNotFoundError as error:
            if config.if_missing == "error":
                raise
            notes.append(f"downstream {config.shown!r} skipped: not installed here ({error})")
            continue
        if len(bundle.test) == 0:
            raise ValueError(f"downstream dataset {config.shown!r} has no test images")
        train = probe_images(bundle.train, config.train_limit)
        test = probe_images(bundle.test, config.test_limit)
        sets.append(DownstreamSet(config.shown, train, test, bundle.num_classes))
    return sets, notes


def downstream_accuracy(
    network: nn.Module,
    sets: list[DownstreamSet],
    *,
    tap: str = "embedding",
    probe: Literal["linear", "knn"] = "linear",
    device: torch.device | str | None = None,
) -> pd.DataFrame:
    """One row per downstream set: downstream, accuracy, train_size, test_size. ``probe``:
    linear (paper 002) or kNN (k = 20, cosine; paper 003)."""
    rows = []
    for chosen in sets:
        accuracy = probes.accuracy(network, chosen.train, chosen.test, probe, tap,
                                   num_classes=chosen.num_classes, device=device)  # fmt: skip
        rows.append({"downstream": chosen.label, "accuracy": accuracy,
                     "train_size": len(chosen.train), "test_size": len(chosen.test)})  # fmt: skip
    return pd.DataFrame(rows, columns=["downstream", "accuracy", "train_size", "test_size"])
