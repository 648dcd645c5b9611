"""MAE-style patch masking (paper 002)."""

import pytest
import torch

from mnemoscope import augment
from mnemoscope.augment.masking import masked_patch_count
from tests.augment.helpers import seeded


@pytest.mark.parametrize(("size", "patch", "ratio"), [(32, 4, 0.75), (28, 4, 0.5), (32, 2, 0.9)])
def test_mask_zeroes_the_right_fraction_of_patches(size, patch, ratio):
    images = torch.rand(32, 3, size, size, generator=seeded(0)) * 0.9 + 0.1  # no zero pixels
    views = augment.get("mask", size, ratio=ratio, patch=patch)(images, seeded(1))
    grid = size // patch
    patches = views.unfold(2, patch, patch).unfold(3, patch, patch)  # [B, C, g, g, p, p]
    zero = (patches == 0).all(dim=(1, 4, 5))
    kept = (patches == images.unfold(2, patch, patch).unfold(3, patch, patch)).all(dim=(1, 4, 5))
    assert (zero | kept).all()  # each patch is either wholly masked or untouched
    expected = masked_patch_count(grid * grid, ratio)
    assert (zero.sum(dim=(1, 2)) == expected).all()
    assert abs(expected / grid**2 - ratio) <= 1 / grid**2
    assert torch.unique(zero.flatten(1), dim=0).shape[0] == 32  # a different mask per image


def test_patch_grid_covers_partial_edges():
    images = torch.ones(8, 1, 10, 10)
    views = augment.get("mask", 10, ratio=0.5, patch=4)(images, seeded(0))  # 3 x 3 grid
    masked = torch.zeros(8)
    for row in range(3):
        for col in range(3):
            block = views[:, 0, row * 4 : row * 4 + 4, col * 4 : col * 4 + 4]
            masked += (block == 0).all(dim=(1, 2)).float()
    assert (masked == masked_patch_count(9, 0.5)).all()
    assert (views == 0).float().mean() > 0.3


def test_ratio_zero_masks_nothing():
    images = torch.rand(4, 3, 8, 8, generator=seeded(0))
    torch.testing.assert_close(augment.get("mask", 8, ratio=0.0)(images), images, rtol=0, atol=0)
