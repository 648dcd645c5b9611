"""Training sets made of fixed views: augmentation banks (fig. 6) and i.i.d. augmentations
(table 3) of paper 003, as ``DatasetBundle``s, built from the dataset by the data recipes
``BankRecipe`` and ``IidRecipe`` in whichever process trains the run.

Bank (section 5.1, "Inflated sample size"): B augmentations of each of the N training images,
drawn once (``mnemoscope.augment.make_bank``), give a dataset of N x B views. Two labellings:

* ``label_preserving``: every view carries its image's random label (fig. 6 left, blue), the
  study trains it with the ``supervised`` objective on these labels, without augmentation;
* ``per_view``: every view its own random label (fig. 6, red): the bundle carries the clean
  label of each view's image and the ``random_labels`` objective redraws all N x B of them.

i.i.d. augmentations (section 5, "Label preservation"): s images, each given B - 1 other images
of the same true class (drawn without replacement from the rest of the training split) as its
"augmentations"; the s x B views carry the image's label, random or clean. With s = 1,000 and
B = 50 on CIFAR-10 the views are the whole training set, as in table 3.
"""

from __future__ import annotations

import torch

from mnemoscope import augment
from mnemoscope.data import DatasetBundle, ImageSet
from mnemoscope.training import AugmentConfig, DataRecipe
from mnemoscope.training.labels import random_labels


def views_bundle(
    source: DatasetBundle, views: torch.Tensor, labels: torch.Tensor, name: str
) -> DatasetBundle:
    """A bundle whose training set is ``views`` ``[N, B, C, H, W]`` (uint8), view (i, b) labelled
    ``labels[i]``, in image-major order (row i * B + b), with the source's test set."""
    if views.dtype != torch.uint8 or views.ndim != 5:
        raise ValueError(f"views must be uint8 [N, B, C, H, W], got {views.dtype} {views.shape}")
    if labels.shape != (views.shape[0],):
        raise ValueError(
            f"labels must have one entry per image ({views.shape[0]}), got {tuple(labels.shape)}"
        )
    count = views.shape[1]
    flat = views.reshape(-1, *views.shape[2:])
    train = ImageSet(
        flat.contiguous(), labels.long().repeat_interleave(count), torch.arange(len(flat))
    )
    return DatasetBundle(name, train, source.test, source.classes)


def bank_bundle(
    source: DatasetBundle,
    index: torch.Tensor,
    augmentation: augment.Augmentation,
    views: int,
    seed: int,
    labels: torch.Tensor,
) -> DatasetBundle:
    """B = ``views`` fixed augmentations of the training images ``index`` of ``source``, each view
    labelled with its image's entry of ``labels`` (one per image of ``index``)."""
    bank = augment.make_bank(source.train.images[index], augmentation, views, seed)
    return views_bundle(source, bank, labels, f"{source.name}-bank{views}")


def iid_groups(
    labels: torch.Tensor, anchors: torch.Tensor, pool: torch.Tensor, views: int, seed: int
) -> torch.Tensor:
    """``[s, views]`` dataset indices: each anchor followed by ``views - 1`` distinct images of its
    true class drawn from ``pool`` (no image used twice).

    Raises ValueError naming the class when the pool holds too few images of a class.
    """
    if views < 2:
        raise ValueError(f"views={views}: an i.i.d. group needs the image and at least one other")
    generator = torch.Generator().manual_seed(seed)
    groups = torch.empty(len(anchors), views, dtype=torch.long)
    groups[:, 0] = anchors
    pool_labels = labels[pool]
    for label in labels[anchors].unique().tolist():
        members = (labels[anchors] == label).nonzero().flatten()
        candidates = pool[pool_labels == label]
        needed = len(members) * (views - 1)
        if len(candidates) < needed:
            raise ValueError(
                f"i.i.d. augmentations: class {label} needs {needed} other images "
                f"({len(members)} images x {views - 1}) but only {len(candidates)} are left: "
                "lower sweeps.iid.views or sweeps.iid.subset"
            )
        chosen = candidates[torch.randperm(len(candidates), generator=generator)[:needed]]
        groups[members, 1:] = chosen.view(len(members), views - 1)
    return groups


def iid_bundle(
    source: DatasetBundle, groups: torch.Tensor, labels: torch.Tensor, name: str
) -> DatasetBundle:
    """The s x B images of ``groups`` as a training set, every view of group i labelled
    ``labels[i]`` (the anchor's random or clean label)."""
    return views_bundle(source, source.train.images[groups], labels, name)


def image_labels(
    source: DatasetBundle, index: torch.Tensor, label_seed: int | None
) -> torch.Tensor:
    """The labels of training images ``index``: the study's random labels (noise 1, the
    dataset's classes, drawn over the whole split with ``label_seed``) or, with None, the
    clean ones."""
    if label_seed is None:
        return source.train.labels[index]
    drawn = random_labels(source.train.labels, source.num_classes, noise=1.0, seed=label_seed)
    return drawn[index]


class BankRecipe(DataRecipe):
    """Fig. 6's training set: ``views`` fixed augmentations (``augment``, drawn with ``seed``)
    of training images ``index``, each labelled with its image's random label (``label_seed``)
    or clean label (None)."""

    index: list[int]
    augment: AugmentConfig
    views: int
    seed: int
    label_seed: int | None

    def build(self, source: DatasetBundle) -> DatasetBundle:
        index = torch.tensor(self.index, dtype=torch.long)
        augmentation = augment.get(self.augment.name, size=source.image_size,
                                   **self.augment.params)  # fmt: skip
        labels = image_labels(source, index, self.label_seed)
        return bank_bundle(source, index, augmentation, self.views, self.seed, labels)

    def training_shape(self, source: DatasetBundle) -> tuple[int, tuple[int, int]]:
        # the bank's views keep the image size (its augmentation is built at that size)
        return len(self.index) * self.views, source.image_size


class IidRecipe(DataRecipe):
    """Table 3's training set: the images of ``groups`` ([s, B] dataset indices, the anchor
    first), every view labelled with its anchor's random label (``label_seed``) or clean label
    (None)."""

    groups: list[list[int]]
    label_seed: int | None

    def build(self, source: DatasetBundle) -> DatasetBundle:
        groups = torch.tensor(self.groups, dtype=torch.long)
        labels = image_labels(source, groups[:, 0], self.label_seed)
        return iid_bundle(source, groups, labels, f"{source.name}-iid{groups.shape[1]}")
