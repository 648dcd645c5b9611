"""The two containers every loader returns: an ``ImageSet`` (one split) and a ``DatasetBundle``.

Images stay uint8 [N, C, H, W] here; conversion to float and normalisation belong to the
augmentation stage, so the data module never decides a model's input statistics.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

# Label of an image that has none (only STL-10's optional unlabeled split produces it).
UNLABELED = -1


def _check_tensor(name: str, value: object, dtype: torch.dtype, ndim: int) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if value.dtype != dtype:
        raise ValueError(f"{name} must have dtype {dtype}, got {value.dtype}")
    if value.ndim != ndim:
        raise ValueError(
            f"{name} must have {ndim} dimensions, got {value.ndim} (shape {tuple(value.shape)})"
        )
    return value


@dataclass(frozen=True, eq=False)
class ImageSet:
    """One split of a dataset: images with their labels and stable ids.

    Attributes:
        images: uint8 tensor [N, C, H, W].
        labels: int64 tensor [N]; class indices, or ``UNLABELED`` (-1) for unlabeled images.
        ids: int64 tensor [N]; the index of each example in its original split, so the same
            image keeps the same id whatever subset, limit or split it ends up in.
    """

    images: torch.Tensor
    labels: torch.Tensor
    ids: torch.Tensor

    def __post_init__(self) -> None:
        _check_tensor("images", self.images, torch.uint8, 4)
        _check_tensor("labels", self.labels, torch.int64, 1)
        _check_tensor("ids", self.ids, torch.int64, 1)
        n = self.images.shape[0]
        for name, tensor in (("labels", self.labels), ("ids", self.ids)):
            if tensor.shape[0] != n:
                raise ValueError(
                    f"{name} has length {tensor.shape[0]}, expected {n} (one per image)"
                )
        if n and int(self.ids.min()) < 0:
            raise ValueError(f"ids must be non-negative, got {int(self.ids.min())}")
        if n and int(self.labels.min()) < UNLABELED:
            raise ValueError(
                f"labels must be >= {UNLABELED} (= unlabeled), got {int(self.labels.min())}"
            )
        unique, counts = torch.unique(self.ids, return_counts=True)
        if unique.numel() != n:
            repeated = unique[counts > 1]
            raise ValueError(
                f"ids must be unique, but {repeated.numel()} repeat "
                f"(first: {int(repeated[0])}, seen {int(counts[counts > 1][0])} times)"
            )

    def __len__(self) -> int:
        return self.images.shape[0]

    def subset(self, index: torch.Tensor) -> ImageSet:
        """The examples at ``index`` (positions in this set, not ids), in that order."""
        index = torch.as_tensor(index)
        if index.dtype == torch.bool:
            if index.shape != (len(self),):
                raise ValueError(
                    f"boolean mask has shape {tuple(index.shape)}, expected ({len(self)},)"
                )
        elif index.dtype not in (torch.int64, torch.int32):
            # uint8 is excluded on purpose: torch would read it as a mask, not positions.
            raise ValueError(f"index must be an int64/int32 or bool tensor, got {index.dtype}")
        elif index.ndim != 1:
            raise ValueError(f"index must be 1-D, got shape {tuple(index.shape)}")
        return ImageSet(self.images[index], self.labels[index], self.ids[index])


@dataclass(frozen=True, eq=False)
class DatasetBundle:
    """A named dataset: train and test ``ImageSet`` with the class names labels index into."""

    name: str
    train: ImageSet
    test: ImageSet
    classes: tuple[str, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.classes, tuple) or not all(isinstance(c, str) for c in self.classes):
            raise ValueError(f"classes must be a tuple of str, got {self.classes!r}")
        if self.train.images.shape[1:] != self.test.images.shape[1:]:
            raise ValueError(
                f"train images are {tuple(self.train.images.shape[1:])} (C, H, W) but test images "
                f"are {tuple(self.test.images.shape[1:])}; both splits must share one shape"
            )
        for split, images in (("train", self.train), ("test", self.test)):
            if len(images) and int(images.labels.max()) >= len(self.classes):
                raise ValueError(
                    f"{split} label {int(images.labels.max())} is out of range for "
                    f"{len(self.classes)} classes (expected 0..{len(self.classes) - 1})"
                )

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def channels(self) -> int:
        return self.train.images.shape[1]

    @property
    def image_size(self) -> tuple[int, int]:
        """(H, W) of every image in both splits."""
        return (self.train.images.shape[2], self.train.images.shape[3])
