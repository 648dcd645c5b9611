"""Planted atypical images: a built-in check that the score finds what it should.

Paper 002 finds that atypical images are the most memorized (fig. 1, appendix D.3: an outlier
whose augmentation set overlaps no other point's is aligned by f, which trained on it, and by no
g). Planting known outliers into S_C makes that testable: the score should rank them above the
ordinary candidates, measured by the AUROC (0.5 = chance). Kinds:

* ``inverted``: colour-inverted (255 - x) training images whose originals are in no part;
* ``held_out_class``: images of a class left out of S_S, S_C, S_I and S_E;
* ``noise``: images of uniform noise (random labels, for the supervised comparison).

Inverted and noise images are appended to the training set: the runs' data recipe
(``PlantedRecipe``, part of every run key) rebuilds it from the dataset in whichever process
trains. f and g both train on the extended set (g never sees the planted images), so their
input normalization statistics are the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from mnemoscope import data
from mnemoscope.studies.sslmem.config import PlantedConfig, SplitConfig
from mnemoscope.studies.sslmem.splits import Splits, make_splits
from mnemoscope.training import DataRecipe


@dataclass(frozen=True)
class Planted:
    """The training set to train on and where the planted images are in it.

    Attributes:
        bundle: the dataset, its training set extended by the appended planted images.
        index: kind -> positions in ``bundle.train`` of that kind's planted images.
    """

    bundle: data.DatasetBundle
    index: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def all_index(self) -> torch.Tensor:
        if not self.index:
            return torch.empty(0, dtype=torch.long)
        return torch.cat(list(self.index.values()))


def held_out_class(config: PlantedConfig, bundle: data.DatasetBundle) -> int | None:
    """The class left out of every part, or None when ``held_out_class`` is not planted."""
    if "held_out_class" not in config.kinds:
        return None
    chosen = bundle.num_classes - 1 if config.held_out_class is None else config.held_out_class
    if chosen >= bundle.num_classes:
        raise ValueError(
            f"planted.held_out_class = {chosen} but {bundle.name!r} has classes "
            f"0..{bundle.num_classes - 1}"
        )
    return chosen


def plant(bundle: data.DatasetBundle, splits: Splits, config: PlantedConfig) -> Planted:
    """Build the planted images of ``config.kinds`` (none: the bundle unchanged)."""
    if not config.kinds:
        return Planted(bundle)
    rng = np.random.default_rng(config.seed)
    train = bundle.train
    n = config.per_kind
    added_images, added_labels, index = [], [], {}
    next_position = len(train)
    for kind in config.kinds:
        if kind == "held_out_class":
            excluded = held_out_class(config, bundle)
            members = torch.nonzero(train.labels == excluded).squeeze(1).numpy()
            if len(members) < n:
                raise ValueError(f"class {excluded} has {len(members)} training images < {n}")
            index[kind] = torch.from_numpy(np.sort(rng.choice(members, n, replace=False)))
            continue
        if kind == "inverted":
            if len(splits.unused) < n:
                raise ValueError(
                    f"planted inverted images need {n} training images in no part, but the "
                    f"splits leave {len(splits.unused)}: use smaller splits or fewer planted"
                )
            originals = np.sort(rng.choice(splits.unused.numpy(), n, replace=False))
            images, labels = inverted_images(train, originals)
        else:  # noise
            images, labels = noise_images(rng, n, train.images.shape[1:], bundle.num_classes)
        added_images.append(images)
        added_labels.append(labels)
        index[kind] = torch.arange(next_position, next_position + n)
        next_position += n
    if added_images:
        images = torch.cat([train.images, *added_images])
        labels = torch.cat([train.labels, *added_labels])
        first_id = int(train.ids.max()) + 1
        ids = torch.cat([train.ids, torch.arange(first_id, first_id + len(images) - len(train))])
        train = data.ImageSet(images, labels, ids)
    extended = data.DatasetBundle(bundle.name, train, bundle.test, bundle.classes)
    return Planted(extended, index)


def inverted_images(
    train: data.ImageSet, originals: np.ndarray
) -> tuple[torch.Tensor, torch.Tensor]:
    """Colour-inverted copies 255 - x of the training images at ``originals``, with their
    labels (uint8 ``[n, C, H, W]``, int64 ``[n]``)."""
    index = torch.from_numpy(np.asarray(originals))
    return 255 - train.images[index], train.labels[index]


def noise_images(
    rng: np.random.Generator, count: int, shape: tuple[int, ...], classes: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` images of uniform noise in 0..255 of ``shape`` (C, H, W) and uniformly random
    labels in 0..classes - 1, drawn from ``rng`` in that order."""
    images = torch.from_numpy(rng.integers(0, 256, size=(count, *shape), dtype=np.uint8))
    return images, torch.from_numpy(rng.integers(0, classes, size=count)).long()


class PlantedRecipe(DataRecipe):
    """The training set of every f and g: the dataset with the ``planted`` images of the
    study's ``splits`` (inverted images come from the images no part uses)."""

    planted: PlantedConfig
    splits: SplitConfig

    def build(self, source: data.DatasetBundle) -> data.DatasetBundle:
        splits = make_splits(source, self.splits, held_out_class(self.planted, source))
        return plant(source, splits, self.planted).bundle


def planted_recipe(planted: PlantedConfig, splits: SplitConfig) -> PlantedRecipe | None:
    """The recipe of the study's runs; None when nothing is planted (the dataset itself)."""
    return PlantedRecipe(planted=planted, splits=splits) if planted.kinds else None
