"""MAE-style random patch masking (He et al. 2022; paper 002, table 9 and appendix B.1)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from mnemoscope.augment.base import ImageShape, Params, Stage


def patch_grid(height: int, width: int, patch: int) -> tuple[int, int]:
    """Rows and columns of patches; partial patches at the bottom/right edges count."""
    return math.ceil(height / patch), math.ceil(width / patch)


def masked_patch_count(num_patches: int, ratio: float) -> int:
    """MAE's rule: keep ``int(L * (1 - ratio))`` patches, mask the rest."""
    return num_patches - int(num_patches * (1 - ratio))


class PatchMask(Stage):
    """Zero out a random ``ratio`` of the non-overlapping ``patch`` x ``patch`` patches.

    As MAE's ``random_masking``: per image, rank the patches by uniform noise and mask all but the
    first ``int(L * (1 - ratio))``, so every image loses exactly the same number of patches.
    """

    def __init__(self, ratio: float, patch: int) -> None:
        self.ratio = ratio
        self.patch = patch

    def sample(self, n: int, shape: ImageShape, generator: torch.Generator) -> Params:
        rows, cols = patch_grid(shape[1], shape[2], self.patch)
        num_patches = rows * cols
        noise = torch.rand(n, num_patches, generator=generator)
        rank = noise.argsort(dim=1).argsort(dim=1)  # rank of each patch in its image's shuffle
        keep = rank >= masked_patch_count(num_patches, self.ratio)
        return {"keep": keep.view(n, 1, rows, cols)}

    def apply(self, images: Tensor, params: Params) -> Tensor:
        height, width = images.shape[-2:]
        keep = params["keep"].repeat_interleave(self.patch, dim=2)
        keep = keep.repeat_interleave(self.patch, dim=3)[..., :height, :width]
        return images.mul_(keep)
