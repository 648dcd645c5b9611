"""Per-tap probing of a network during training, and the verdict of definition 4.1 (paper 003).

At every measurement epoch the hook built here records, for each tap q (layer1..layer4,
embedding, projector_hidden, output; fig. 4, table 1):

* ``clean_knn``: kNN (k = 20, cosine, majority vote) fitted on the unaugmented training images
  with their clean labels, accuracy on the clean test set (the dashed lines of fig. 4);
* ``noisy_knn``: kNN fitted on the same training images with the labels the network was trained
  on (random ones), evaluated on those training images, each one's own entry left out (the solid
  lines of fig. 4);
* ``invariance``: the mean over a fixed sample of training images of eq. 2 (fig. 7);
* ``fit_accuracy``: the fraction of unaugmented training images whose training label is the
  network's argmax (definition 4.1's "perfectly fits");
* ``linear`` (epoch 0 and the last epoch): a logistic-regression probe of the embedding, fitted
  like ``clean_knn`` (appendix A, table 4).

Definition 4.1: a network is a memorization of the randomly labelled set if it fits it; a
memorization is benign if the clean probe of its encoder outperforms probing at initialization,
malign otherwise. At small scale a few points of kNN accuracy move with the seed (and the thread
count), so ``verdict`` can take several networks per setting and decides only when a seed-level
interval clears the margin ("undecided at this scale" otherwise).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from pydantic import PrivateAttr
from torch import nn

from mnemoscope import augment, data
from mnemoscope.analysis.stats import seed_interval
from mnemoscope.measure import probes
from mnemoscope.measure.features import extract_features
from mnemoscope.measure.invariance import measure_invariance
from mnemoscope.strict import StrictModel
from mnemoscope.studies.benign.config import (
    Data,
    InvarianceSpec,
    ProbeSpec,
    VerdictSpec,
)
from mnemoscope.training import AugmentConfig, Hook, HookContext

PROBES = ("clean_knn", "noisy_knn", "linear")
UNDECIDED = "undecided at this scale"


@dataclass(frozen=True)
class ProbeData:
    """The images every network of the study is probed on (shared, so numbers compare).

    ``images``/``labels`` are the whole training split (uint8, clean labels); ``fit_index``
    the images the clean probes are fitted on; ``test_images``/``test_labels`` the clean test
    set; ``invariance_images`` a sample of training images and ``invariance_views`` their fixed
    augmented views ``[n, V, C, H, W]`` (the T of eq. 2).
    """

    images: torch.Tensor
    labels: torch.Tensor
    fit_index: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    invariance_images: torch.Tensor
    invariance_views: torch.Tensor


@dataclass(frozen=True)
class ProbeTargets:
    """What one run is probed against besides the shared data.

    ``trained_index``: unaugmented training images (indices into ``ProbeData.images``) whose
    fit and noisy probe are measured; ``trained_labels``: the labels the run trained them with
    (None when images have none, e.g. a bank whose every view has its own label);
    ``noisy_labels``: the random labels of the noisy probe (None: not measured, e.g. one class
    per sample, where a left-out image can never find its own label).
    """

    trained_index: torch.Tensor
    trained_labels: torch.Tensor | None
    noisy_labels: torch.Tensor | None


def probe_data(
    spec: Data,
    invariance: InvarianceSpec,
    augmentation_of: AugmentConfig,
    probe: ProbeSpec,
    bundle: data.DatasetBundle,
) -> tuple[ProbeData, torch.Tensor]:
    """The study's probe images on ``bundle`` (the dataset ``spec`` names), and the training
    subset (sorted dataset indices); refuses impossible sizes before any training.
    ``augmentation_of``: the training augmentation, whose views are the T of eq. 2."""
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
    augmentation = augment.get(augmentation_of.name, size=bundle.image_size,
                               **augmentation_of.params)  # fmt: skip
    views = augment.make_bank(
        bundle.train.images[sample], augmentation, invariance.views, invariance.seed
    )
    probe_set = ProbeData(
        images=bundle.train.images,
        labels=labels,
        fit_index=fit_index,
        test_images=test.images,
        test_labels=test.labels,
        invariance_images=bundle.train.images[sample],
        invariance_views=views,
    )
    if len(fit_index) <= probe.k:
        raise ValueError(
            f"the clean probe has {len(fit_index)} images, not more than k = "
            f"{probe.k}: raise data.probe_size or train_size"
        )
    return probe_set, train_index


def feature_groups(
    network: nn.Module, sample: torch.Tensor, taps: Sequence[str], count: int, budget_bytes: float
) -> list[list[str]]:
    """Taps split into groups whose float32 features for ``count`` images fit ``budget_bytes``:
    one forward pass per group (a single group at CPU scale, several for ResNet-18's layer1)."""
    dims = {tap: value.shape[1] for tap, value in network.features(sample, list(taps)).items()}
    groups: list[list[str]] = [[]]
    used = 0.0
    for tap in taps:
        size = 4.0 * dims[tap] * count
        if groups[-1] and used + size > budget_bytes:
            groups.append([])
            used = 0.0
        groups[-1].append(tap)
        used += size
    return groups


def probe_taps(
    network: nn.Module,
    data: ProbeData,
    targets: ProbeTargets,
    spec: ProbeSpec,
    *,
    linear: bool,
) -> dict[str, np.ndarray]:
    """Every probe of every tap for one network: {"clean_knn.<tap>": [acc], ...} (see module)."""
    device = next(network.parameters()).device
    # A linear head (projector width 0) has no projector_hidden tap: it is skipped there.
    taps = [tap for tap in spec.taps if tap in network.tap_names]
    # One forward over the union of the clean-probe images and the probed training images.
    union, inverse = torch.unique(
        torch.cat([data.fit_index, targets.trained_index]), return_inverse=True
    )
    fit_rows = inverse[: len(data.fit_index)]
    trained_rows = inverse[len(data.fit_index) :]
    fit_labels = data.labels[data.fit_index]
    count = len(union) + len(data.test_images)
    sample = data.images[union[:1]].float().div(255).to(device)
    budget = spec.feature_budget_gb * 1e9
    results: dict[str, np.ndarray] = {}
    for group in feature_groups(network, sample, taps, count, budget):
        train = extract_features(network, data.images[union], group, batch_size=spec.batch_size)
        test = extract_features(network, data.test_images, group, batch_size=spec.batch_size)
        for tap in group:
            train_f, test_f = train[tap].to(device), test[tap].to(device)
            clean = ((train_f[fit_rows], fit_labels), (test_f, data.test_labels))
            results[f"clean_knn.{tap}"] = _scalar(
                probes.feature_accuracy(*clean, "knn", k=spec.k, weighted=spec.weighted)
            )
            results[f"noisy_knn.{tap}"] = _scalar(_noisy_knn(train_f[trained_rows], targets, spec))
            if tap == "output":
                results["fit_accuracy"] = _scalar(_fit_accuracy(train_f[trained_rows], targets))
            if linear and tap == "embedding":
                results["linear.embedding"] = _scalar(probes.feature_accuracy(*clean, "linear"))
        del train, test
    if "output" not in taps:
        output = extract_features(
            network, data.images[targets.trained_index], ["output"], batch_size=spec.batch_size
        )["output"]
        results["fit_accuracy"] = _scalar(_fit_accuracy(output, targets))
    invariance = measure_invariance(
        network, data.invariance_views, data.invariance_images, taps, batch_size=spec.batch_size
    )
    for tap, values in invariance.items():
        results[f"invariance.{tap}"] = _scalar(float(np.nanmean(values.numpy())))
    return results


def _noisy_knn(features: torch.Tensor, targets: ProbeTargets, spec: ProbeSpec) -> float:
    labels = targets.noisy_labels
    if labels is None or len(features) <= spec.k:
        return math.nan
    return probes.feature_accuracy((features, labels), (features, labels), "knn", k=spec.k,
                                   weighted=spec.weighted, leave_self_out=True)  # fmt: skip


def _fit_accuracy(output: torch.Tensor, targets: ProbeTargets) -> float:
    if targets.trained_labels is None:
        return math.nan
    predicted = output.argmax(dim=1).cpu()
    return (predicted == targets.trained_labels.cpu()).float().mean().item()


def _scalar(value: float) -> np.ndarray:
    return np.array([value], dtype=np.float64)


class TargetsSpec(StrictModel):
    """``ProbeTargets`` as plain lists (dataset indices and labels), so that a spec carries them."""

    trained_index: list[int]
    trained_labels: list[int] | None
    noisy_labels: list[int] | None

    @classmethod
    def of(cls, targets: ProbeTargets) -> TargetsSpec:
        def plain(values: torch.Tensor | None) -> list[int] | None:
            return None if values is None else values.tolist()

        return cls(trained_index=targets.trained_index.tolist(),
                   trained_labels=plain(targets.trained_labels),
                   noisy_labels=plain(targets.noisy_labels))  # fmt: skip

    def tensors(self) -> ProbeTargets:
        def tensor(values: list[int] | None) -> torch.Tensor | None:
            return None if values is None else torch.tensor(values, dtype=torch.long)

        return ProbeTargets(tensor(self.trained_index), tensor(self.trained_labels),
                            tensor(self.noisy_labels))  # fmt: skip


class ProbeHook(Hook):
    """The engine hook probing one run (see the module): the study's probe images are rebuilt
    from ``data``, ``invariance`` and ``augment`` (the training augmentation, whose views are
    the T of eq. 2) in the process that trains, on the dataset the run's config names.

    Its description (part of the run key) leaves out ``probe.batch_size`` and
    ``probe.feature_budget_gb``: they change how features are computed, never their values."""

    data: Data
    invariance: InvarianceSpec
    augment: AugmentConfig
    probe: ProbeSpec
    targets: TargetsSpec
    final_epoch: float
    _data: ProbeData | None = PrivateAttr(None)
    _targets: ProbeTargets | None = PrivateAttr(None)

    def describe(self) -> dict:
        described = super().describe()
        for speed_only in ("batch_size", "feature_budget_gb"):
            del described["probe"][speed_only]
        return described

    def setup(self, context: HookContext) -> None:
        self._data = probe_data(self.data, self.invariance, self.augment, self.probe,
                                context.source)[0]  # fmt: skip
        self._targets = self.targets.tensors()

    def __call__(self, network: nn.Module, epoch: float) -> dict[str, np.ndarray]:
        if self._data is None:
            raise RuntimeError("ProbeHook.setup was not called before measuring")
        linear = self.probe.linear and (epoch == 0 or epoch == self.final_epoch)
        return probe_taps(network, self._data, self._targets, self.probe, linear=linear)


def transfer_accuracy(
    network: nn.Module,
    train_images: torch.Tensor,
    train_labels: torch.Tensor,
    test_images: torch.Tensor,
    test_labels: torch.Tensor,
    spec: ProbeSpec,
) -> float:
    """kNN accuracy of the embedding on another dataset (fig. 10): fitted on its training split,
    evaluated on its test split, the network frozen."""
    network.eval()
    device = next(network.parameters()).device
    return probes.accuracy(network, (train_images, train_labels), (test_images, test_labels),
                           "knn", "embedding", k=spec.k, weighted=spec.weighted,
                           batch_size=spec.batch_size, knn_device=device)  # fmt: skip


def verdict(
    fit_accuracy: float | Sequence[float],
    probe_accuracy: float | Sequence[float],
    init_accuracy: float | Sequence[float],
    spec: VerdictSpec,
) -> dict[str, Any]:
    """Definition 4.1 on measured numbers, one value per network (seed) of a setting, each
    network's probe compared with its own initialization: gain_s = probe_s - init_s.

    ``fits_random_labels``: every network's fit accuracy >= ``spec.fit_threshold`` (1.0: every
    image); ``probe_beats_init``: mean gain > ``spec.margin``; ``gain_low``/``gain_high``: the
    two-sided t interval of the mean gain at ``spec.confidence`` over S >= 2 networks
    (``analysis.stats.seed_interval``; the point gain itself for S = 1). ``verdict``: "no
    memorization" when the labels are not fitted (the definition then says nothing;
    ``probe_beats_init`` still tells where the encoder stands); else "benign" when the
    interval lies above the margin, "malign" when it lies at or below it, and "undecided at
    this scale" when it straddles the margin. With one network the interval is a point, so the
    verdict is the paper's point comparison.
    """
    fit, probe, init = (np.atleast_1d(np.asarray(v, dtype=np.float64))
                        for v in (fit_accuracy, probe_accuracy, init_accuracy))  # fmt: skip
    if not fit.shape == probe.shape == init.shape or fit.ndim != 1 or fit.size == 0:
        raise ValueError(
            f"one fit, probe and init accuracy per network: got {fit.size}, {probe.size} and "
            f"{init.size} values"
        )
    gains = seed_interval(probe - init, spec.confidence)
    mean, low, high = gains.mean, gains.low, gains.high
    fits = bool(np.all(fit >= spec.fit_threshold))
    beats = bool(mean > spec.margin)
    if not fits:
        label = "no memorization"
    else:
        label = {"above": "benign", "below": "malign", "straddles": UNDECIDED}[
            gains.side(spec.margin)
        ]
    return {"fits_random_labels": fits, "probe_beats_init": beats, "verdict": label,
            "seeds": gains.seeds, "gain": mean, "gain_low": low, "gain_high": high}  # fmt: skip
