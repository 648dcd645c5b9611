"""Gaussian noise measurement augmentation (paper 002 table 8)."""

import torch

from mnemoscope import augment
from mnemoscope.augment.noise import GaussianNoise
from tests.augment.helpers import seeded


def test_noise_has_the_right_std_before_clamping():
    grey = torch.full((64, 3, 16, 16), 0.5)
    stage = GaussianNoise(std=0.2)
    params = stage.sample(64, (3, 16, 16), seeded(0))
    noise = stage.apply(grey.clone(), params) - 0.5
    # at std 0.2 around 0.5, clamping touches 1.2% of pixels: measure on the unclamped ones
    inside = noise.abs() < 0.5
    assert inside.float().mean() > 0.98
    assert abs(noise.mean().item()) < 0.005
    assert abs(params["noise"].std().item() * 0.2 - 0.2) < 0.004
    assert abs(noise[inside].std().item() - 0.2) < 0.01


def test_preset_default_std_and_clamp():
    grey = torch.full((32, 1, 16, 16), 0.5)
    views = augment.get("gaussian_noise", 16)(grey, seeded(0))
    assert abs((views - 0.5).std().item() - 0.2) < 0.01
    views = augment.get("gaussian_noise", 16, std=2.0)(grey, seeded(0))
    assert views.min() == 0 and views.max() == 1


def test_zero_std_is_identity():
    images = torch.rand(4, 3, 8, 8, generator=seeded(0))
    views = augment.get("gaussian_noise", 8, std=0.0)(images, seeded(0))
    torch.testing.assert_close(views, images, rtol=0, atol=0)
