"""The atlas's model pool: which images exist (``make_layout``), which model trains on which
(``membership``), how a run rebuilds its training set (``AtlasRecipe``) and the recognition
every model gives every candidate during training (``TrackingHook``).

Layout. From the dataset's training split, the images of a held-out class (when planted) are
set aside; the rest is cut by ``data.split`` (class-stratified, ``pool.seed``) into the shared
part (every model), the ordinary candidates and the originals some planted kinds are made from
(used nowhere else), in that order, so that a change of the planted kinds moves no shared or
ordinary image. The planted images follow the ordinary candidates, kind by kind in the
config's order (``plant``); all but the held-out class's are appended to the training split,
as sslmem's planted images are.

Membership: complementary halves per pair of models. For pair j = 0 .. K/2 - 1 of a method, a
generator seeded by (``pool.seed``, the method's name, j) draws a random half of the
candidates, stratified by kind (each planted kind and the ordinary candidates split in half);
model 2j trains on that half, model 2j + 1 on the other. Why this design, and not an
independent half per model (Feldman & Zhang's subsampling) or LiRA's per-image balance alone
(each image IN for exactly K/2 models, the models' sizes free):

* every candidate is IN for exactly K/2 models and OUT for K/2, as in LiRA's code: each
  image's leave-out score has the same noise multiplier 4 / K (``pool_reliability``), none is
  left without an IN or an OUT model, and the per-image Gaussians of LiRA always have K/2 - 1
  models a side once the target is held out;
* every model trains on exactly half of the candidates (half of each kind), so the models are
  exchangeable;
* model k's images depend on (``pool.seed``, its method, k // 2) alone: raising ``models``
  keeps the runs already trained (their run keys do not change) and adds pairs, which is how a
  user acts on the models a score needs for reliability 0.8 (``count_for``);
* each pair is an f / g pair of paper 002 with the candidates and the independent set swapped;
* each method draws its own halves: a score's noise has a part that comes from the draw (which
  other images share a half with the image: a near neighbour IN with it makes its IN models
  fit it better and its OUT models worse), and two methods on one draw would share that part,
  so that their agreement could pass the noise ceiling, which assumes independent noise.
  With a draw of its own, another method's score is as independent as another training.

The cost of the pairing: the two models of a pair are anti-correlated in membership, which the
split-half over models ignores (it splits models at random; halves then hold unbalanced IN /
OUT counts, which ``pool_reliability``'s effective length corrects).

Planted kinds (issue 23's known answers; ``PlantedConfig``): ``noise`` (uniform noise, random
labels), ``inverted`` (255 - x of unused images, their labels), ``held_out_class`` (images of a
class no other image has), ``duplicate_<c>`` (groups of c exact copies of one image),
``near_duplicate`` (pairs: an image and a copy with Gaussian noise of sd ``near_sigma``),
``mislabeled`` (unused images with a label drawn from the other classes). Duplicates and near
copies are made of ``copies_of`` images (noise by default: an image the models memorize when
it is alone). Every copy is a candidate with its own membership: the OUT models of one copy
usually train on another, so its leave-one-out memorization falls with the copies (Feldman &
Zhang 2020's near-duplicates; the atlas shows whether each score sees it).
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from pydantic import PrivateAttr
from torch import nn

from mnemoscope import data
from mnemoscope.studies.atlas.config import (
    DynamicsConfig,
    PlantedConfig,
    PoolConfig,
    copies_of_kind,
)
from mnemoscope.studies.sslmem.planted import inverted_images, noise_images
from mnemoscope.training import DataRecipe, Hook, HookContext, prepare
from mnemoscope.training.objectives import method

ORDINARY = "ordinary"
_LAST_LAYOUT: dict[str, Any] = {}  # cached_layout's last result


@dataclass(frozen=True)
class Layout:
    """Where everything is (positions index ``bundle.train``, the dataset's training split with
    the planted images appended).

    Attributes:
        bundle: the training set every model draws its images from.
        shared: sorted positions every model trains on.
        candidates: the N candidates' positions: the ordinary ones (sorted), then the planted
            kinds in the config's order.
        kind: [N] "ordinary" or the planted kind of each candidate.
        group: [N] the copy group of a duplicate or near-duplicate (-1 for others).
        source: [N] the dataset position of the image a planted one was made from (-1: none).
        true_label: [N] the label before ``mislabeled`` relabelled it (else the label).
        held_out_class: the class left out of everything but its planted images, or None.
    """

    bundle: data.DatasetBundle
    shared: torch.Tensor
    candidates: torch.Tensor
    kind: np.ndarray
    group: np.ndarray
    source: np.ndarray
    true_label: np.ndarray
    held_out_class: int | None

    @property
    def labels(self) -> torch.Tensor:
        """The training labels of the candidates (mislabeled ones carry their wrong label)."""
        return self.bundle.train.labels[self.candidates]

    @property
    def images(self) -> torch.Tensor:
        return self.bundle.train.images[self.candidates]


def held_out_class(planted: PlantedConfig, bundle: data.DatasetBundle) -> int | None:
    """The class left out of every part, or None when ``held_out_class`` is not planted."""
    if "held_out_class" not in planted.kinds:
        return None
    chosen = bundle.num_classes - 1 if planted.held_out_class is None else planted.held_out_class
    if chosen >= bundle.num_classes:
        raise ValueError(f"planted.held_out_class = {chosen} but {bundle.name!r} has classes "
                         f"0..{bundle.num_classes - 1}")  # fmt: skip
    return chosen


def originals_needed(planted: PlantedConfig) -> int:
    """Unused training images the planted kinds are made from."""
    count = 0
    for kind in planted.kinds:
        if kind in ("inverted", "mislabeled"):
            count += planted.per_kind
        elif copies_of_kind(kind) > 1 and planted.copies_of != "noise":
            count += planted.per_kind // copies_of_kind(kind)
    return count


def make_layout(source: data.DatasetBundle, pool: PoolConfig, planted: PlantedConfig) -> Layout:
    """The layout of the module docstring, deterministic in ``pool.seed`` and
    ``planted.seed``; ValueError when the dataset is too small for the sizes asked."""
    labels = source.train.labels
    excluded = held_out_class(planted, source)
    usable = torch.arange(len(labels))
    if excluded is not None:
        usable = usable[labels != excluded]
    needed = originals_needed(planted)
    sizes = {"shared": pool.shared, "candidates": pool.candidates, "originals": needed}
    if sum(sizes.values()) > len(usable):
        raise ValueError(
            f"pool.shared + pool.candidates + the planted images' originals = "
            f"{pool.shared} + {pool.candidates} + {needed} exceed the {len(usable)} usable "
            f"training images of {source.name!r}: lower the sizes or planted.per_kind"
        )
    parts = data.split(usable, sizes, seed=pool.seed,
                       stratify_labels=labels[usable] if pool.stratify else None)  # fmt: skip
    return plant(source, parts["shared"], parts["candidates"], parts["originals"], planted,
                 excluded)  # fmt: skip


def plant(
    source: data.DatasetBundle,
    shared: torch.Tensor,
    ordinary: torch.Tensor,
    originals: torch.Tensor,
    planted: PlantedConfig,
    excluded: int | None,
) -> Layout:
    """The planted kinds (module docstring) after the ordinary candidates, drawn from one
    generator seeded by ``planted.seed`` in the config's order of kinds."""
    rng = np.random.default_rng(planted.seed)
    train, classes = source.train, source.num_classes
    shape = tuple(train.images.shape[1:])
    unused = iter(originals.tolist())
    added_images, added_labels = [], []
    positions = [ordinary]
    kinds = [np.full(len(ordinary), ORDINARY)]
    groups, sources = [np.full(len(ordinary), -1)], [np.full(len(ordinary), -1)]
    true_labels = [train.labels[ordinary].numpy()]
    next_position, next_group = len(train), 0
    n = planted.per_kind

    def take(count: int) -> np.ndarray:
        return np.array([next(unused) for _ in range(count)], dtype=np.int64)

    for kind in planted.kinds:
        copies = copies_of_kind(kind)
        group, origin = np.full(n, -1), np.full(n, -1)
        if kind == "held_out_class":
            members = torch.nonzero(train.labels == excluded).squeeze(1).numpy()
            if len(members) < n:
                raise ValueError(f"class {excluded} has {len(members)} training images < "
                                 f"planted.per_kind = {n}")  # fmt: skip
            chosen = np.sort(rng.choice(members, n, replace=False))
            positions.append(torch.from_numpy(chosen))
            kinds.append(np.full(n, kind))
            groups.append(group)
            sources.append(chosen)
            true_labels.append(train.labels[chosen].numpy())
            continue
        if kind == "noise":
            images, labels = noise_images(rng, n, shape, classes)
            true = labels
        elif kind == "inverted":
            origin = take(n)
            images, labels = inverted_images(train, origin)
            true = labels
        elif kind == "mislabeled":
            origin = take(n)
            images, true = train.images[origin], train.labels[origin]
            shift = torch.from_numpy(rng.integers(1, classes, size=n)).long()
            labels = (true + shift) % classes  # any class but the true one
        else:  # duplicate_<c> or near_duplicate: groups of copies of one base image
            count = n // copies
            if planted.copies_of == "noise":
                base, base_labels = noise_images(rng, count, shape, classes)
            else:
                base_origin = take(count)
                if planted.copies_of == "inverted":
                    base, base_labels = inverted_images(train, base_origin)
                else:
                    base, base_labels = train.images[base_origin], train.labels[base_origin]
                origin = np.repeat(base_origin, copies)
            images = base.repeat_interleave(copies, dim=0)
            labels = true = base_labels.repeat_interleave(copies)
            if kind == "near_duplicate":  # the second of each pair: a noisy copy
                noise = rng.normal(0.0, planted.near_sigma, size=(count, *shape))
                near = (base.double() + torch.from_numpy(noise)).round().clamp(0, 255)
                images = images.clone()
                images[1::2] = near.to(torch.uint8)
            group = np.repeat(np.arange(next_group, next_group + count), copies)
            next_group += count
        added_images.append(images)
        added_labels.append(labels)
        positions.append(torch.arange(next_position, next_position + n))
        next_position += n
        kinds.append(np.full(n, kind))
        groups.append(group)
        sources.append(origin)
        true_labels.append(np.asarray(true))
    bundle = source
    if added_images:
        images = torch.cat([train.images, *added_images])
        labels = torch.cat([train.labels, *added_labels])
        first_id = int(train.ids.max()) + 1
        ids = torch.cat([train.ids, torch.arange(first_id, first_id + len(images) - len(train))])
        bundle = data.DatasetBundle(source.name, data.ImageSet(images, labels, ids), source.test,
                                    source.classes)  # fmt: skip
    return Layout(bundle, shared, torch.cat(positions), np.concatenate(kinds).astype(str),
                  np.concatenate(groups), np.concatenate(sources),
                  np.concatenate(true_labels).astype(np.int64), excluded)  # fmt: skip


def cached_layout(source: data.DatasetBundle, pool: PoolConfig, planted: PlantedConfig) -> Layout:
    """``make_layout``, the last result kept (``last_layout``)."""
    described = pool.model_dump(mode="json", exclude={"models"})
    return last_layout(source, ["atlas", described, planted.model_dump(mode="json")],
                       lambda: make_layout(source, pool, planted))  # fmt: skip


def last_layout(source: data.DatasetBundle, described: Any, build: Callable[[], Layout]) -> Layout:
    """``build()``, the last result kept by ``(source, described)`` (``described``: JSON, what
    decides the layout): the K runs of every method (their recipe and hooks) and ``plan``,
    which prepares every run, lay out the same pool from the same dataset in one process. The
    source is held with it, so that its id is not reused."""
    key = (id(source), json.dumps(described, sort_keys=True))
    if _LAST_LAYOUT.get("key") != key:
        _LAST_LAYOUT.update(key=key, source=source, layout=build())
    return _LAST_LAYOUT["layout"]


def membership(kind: np.ndarray, models: int, seed: int, method: str) -> np.ndarray:
    """``inside`` bool ``[K, N]`` of ``method``: complementary halves per pair of models,
    stratified by ``kind`` (module docstring). Model k's row depends on (``seed``, ``method``,
    k // 2) only (the name through its CRC-32: the same on every machine)."""
    if models % 2:
        raise ValueError(f"models = {models} must be even (pairs of complementary halves)")
    kind = np.asarray(kind)
    inside = np.zeros((models, len(kind)), dtype=bool)
    stream = zlib.crc32(method.encode())
    for pair in range(models // 2):
        rng = np.random.default_rng([seed, stream, pair])
        first = np.zeros(len(kind), dtype=bool)
        for name in dict.fromkeys(kind.tolist()):
            members = rng.permutation(np.flatnonzero(kind == name))
            # an odd count: which model of the pair gets the extra image is drawn too
            take = len(members) // 2 + (int(rng.integers(2)) if len(members) % 2 else 0)
            first[members[:take]] = True
        inside[2 * pair], inside[2 * pair + 1] = first, ~first
    return inside


def pair_groups(inside: np.ndarray) -> np.ndarray:
    """``[K]``: one group per pair of models on complementary halves (rows of ``inside`` that
    are each other's complement), a group of its own for a model whose partner is absent (a
    subset of the models). LiRA holds out a target's partner with it
    (``analysis.membership``'s ``groups``)."""
    groups = np.arange(len(inside))
    for model in range(len(inside)):
        if groups[model] != model:
            continue  # already the partner of an earlier model
        for other in range(model + 1, len(inside)):
            if groups[other] == other and np.array_equal(inside[other], ~inside[model]):
                groups[other] = model
                break
    return groups


def model_subset(layout: Layout, inside: np.ndarray, model: int) -> list[int]:
    """The training positions of ``model``: the shared part and its IN candidates, sorted."""
    chosen = layout.candidates[torch.from_numpy(inside[model])]
    return torch.cat([layout.shared, chosen]).sort().values.tolist()


class PoolRecipe(DataRecipe):
    """The training set of every model of a pool (a subclass has a ``pool`` field, a
    ``ModelPool``). Its description leaves out ``pool.models``: a model's images do not depend
    on K, so raising K reuses every run already trained."""

    def describe(self) -> dict[str, Any]:
        described = self.to_dict()
        del described["pool"]["models"]
        return described


class AtlasRecipe(PoolRecipe):
    """The training set of every atlas model: the dataset with the planted images appended
    (``make_layout``)."""

    pool: PoolConfig
    planted: PlantedConfig

    def build(self, source: data.DatasetBundle) -> data.DatasetBundle:
        return cached_layout(source, self.pool, self.planted).bundle


class TrackingHook(Hook):
    """Recognition of every candidate (IN or OUT) at each measured epoch, with paper 001's
    indicator (``measure.recognition``) and the profiles study's tracker
    (``profiles.tracking.RecognitionTracker``): M views of the run's own training augmentation
    and a fixed one, drawn once per image from ``seed`` and the same for every model and epoch
    (SimCLR: M + 1 pairs, recognized within evaluation batches). The profiles study's
    ``RecognitionHook`` tracks a sample of the training subset only; the atlas needs every
    candidate, OUT ones included, so this hook picks its images from the layout.

    Returns ``correct`` uint8 and ``probability`` float16 ``[V, N]`` (V = M + 1 views, 1 when
    the augmentation is deterministic) and ``seconds``."""

    pool: PoolConfig
    planted: PlantedConfig
    augmentations: int
    seed: int
    eval_batch_size: int
    batch_size: int = 1024
    _tracker: Any = PrivateAttr(None)

    def describe(self) -> dict[str, Any]:
        described = self.to_dict()
        del described["pool"]["models"], described["batch_size"]  # speed, never results
        return described

    @classmethod
    def of(cls, config: Any, train_batch: int) -> TrackingHook:
        """The hook of an atlas ``config`` (its ``dynamics``) for a run of ``train_batch``."""
        dynamics: DynamicsConfig = config.dynamics
        candidates = config.pool.candidates + len(config.planted.kinds) * config.planted.per_kind
        batch = min(dynamics.eval_batch_size or train_batch, candidates)
        return cls(pool=config.pool, planted=config.planted, augmentations=dynamics.augmentations,
                   seed=dynamics.seed, eval_batch_size=batch,
                   batch_size=dynamics.batch_size)  # fmt: skip

    def setup(self, context: HookContext) -> None:
        from mnemoscope.studies.profiles.tracking import RecognitionTracker, build_bank

        layout = cached_layout(context.source, self.pool, self.planted)
        config = context.config
        objective = prepare(config, context.bundle).objective  # its own augmentation
        pair = method(config.objective.name).recognition == "pair"
        bank, degenerate = build_bank(layout.images, objective.augmentation, self.augmentations,
                                      pair, self.seed)  # fmt: skip
        targets, temperature = (None, config.objective.temperature) if pair else (layout.labels,
                                                                                   1.0)  # fmt: skip
        order = torch.randperm(len(layout.candidates),
                               generator=torch.Generator().manual_seed(self.seed))  # fmt: skip
        self._tracker = RecognitionTracker(bank, degenerate, targets, temperature,
                                           self.eval_batch_size, order, config.precision,
                                           self.batch_size)  # fmt: skip

    def __call__(self, network: nn.Module, epoch: float) -> dict[str, Any]:
        if self._tracker is None:
            raise RuntimeError("TrackingHook.setup was not called before measuring")
        started = time.perf_counter()
        found = self._tracker(network, epoch)
        correct, probability = found["indicators"], found["probabilities"]
        if not self._tracker.degenerate:  # the fixed view is one more view of each image
            correct = np.concatenate([correct, found["fixed"][None]])
            probability = np.concatenate([probability, found["fixed_probabilities"][None]])
        return {"correct": correct.astype(np.uint8), "probability": probability.astype(np.float16),
                "seconds": np.float64(time.perf_counter() - started)}  # fmt: skip
