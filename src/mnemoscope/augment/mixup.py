"""Mixup (Zhang et al. 2018), as used with random labels in paper 003 (section 4, table 6)."""

from __future__ import annotations

from numbers import Real

import torch
from scipy.special import betaincinv
from torch import Tensor

from mnemoscope.augment.base import check_images, resolve_generator, to_float_images


def sample_beta(alpha: float, generator: torch.Generator) -> float:
    """One draw of Beta(alpha, alpha) driven by ``generator``.

    ``torch.distributions.Beta`` samples through ``torch._standard_gamma``, which ignores
    generators (it reads the global RNG), so instead: inverse-CDF sampling, a uniform from the
    generator pushed through the regularized incomplete beta inverse (exact, float64).
    """
    u = torch.rand((), generator=generator, dtype=torch.float64).item()
    return float(betaincinv(alpha, alpha, u))


def mixup(
    images: Tensor, targets: Tensor, alpha: float, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """Mix every image with a random partner: ``x = lam x_i + (1 - lam) x_perm(i)``, same for y.

    Args:
        images: [B, C, H, W], uint8 (0..255) or float in [0, 1], any device.
        targets: [B, K] one-hot or soft targets (float), same device.
        alpha: Beta(alpha, alpha) concentration, > 0 (Zhang et al. use 0.1-0.4 on ImageNet, 1 on
            CIFAR-10).
        generator: CPU generator for lam and the permutation (None: a fresh unseeded one).

    Returns:
        (float32 mixed images in [0, 1], float32 mixed targets [B, K]; rows keep their sums).

    One ``lam`` per batch with the partner a random permutation of the batch, as in Zhang et
    al.'s reference code (facebookresearch/mixup-cifar10); paper 003 does not say otherwise.
    """
    check_images(images)
    if not isinstance(alpha, Real) or isinstance(alpha, bool) or not alpha > 0:
        raise ValueError(f"alpha={alpha!r} is invalid: need a number > 0")
    if targets.ndim != 2 or targets.shape[0] != images.shape[0] or not targets.is_floating_point():
        raise ValueError(
            f"targets must be float [B, K] one-hot/soft rows with B = {images.shape[0]}, got "
            f"{targets.dtype} {tuple(targets.shape)} (class indices: use F.one_hot(y, K).float())"
        )
    generator = resolve_generator(generator)
    lam = sample_beta(float(alpha), generator)
    partner = torch.randperm(images.shape[0], generator=generator).to(images.device)
    x = to_float_images(images)
    y = targets.to(torch.float32)
    mixed_images = (lam * x + (1 - lam) * x[partner]).clamp_(0.0, 1.0)
    mixed_targets = lam * y + (1 - lam) * y[partner]
    return mixed_images, mixed_targets
