"""Random Gaussian blur (SimCLR, Chen et al. 2020, appendix A; paper 001 appendix A)."""

from __future__ import annotations

import torch
from kornia.filters import gaussian_blur2d
from torch import Tensor

from mnemoscope.augment.base import ImageShape, Params, Stage, apply_to_subset, bernoulli, uniform


def default_blur_kernel(size: tuple[int, int]) -> int:
    """SimCLR's kernel: 10% of the image side, made odd (3 for 28 or 32 pixels, 23 for 224)."""
    kernel = int(0.1 * min(size))
    return kernel + 1 if kernel % 2 == 0 else kernel


class RandomGaussianBlur(Stage):
    """Blur with probability ``p``: a ``kernel`` x ``kernel`` Gaussian, sigma ~ U(sigma) per sample.

    As torchvision's ``GaussianBlur(kernel, sigma)``: the same sigma along x and y, reflect
    padding. A kernel of 1 is the identity.
    """

    def __init__(self, kernel: int, sigma: tuple[float, float], p: float) -> None:
        self.kernel = kernel
        self.sigma = sigma
        self.p = p

    def sample(self, n: int, shape: ImageShape, generator: torch.Generator) -> Params:
        return {
            "apply": bernoulli(n, self.p, generator),
            "sigma": uniform(n, self.sigma[0], self.sigma[1], generator),
        }

    def apply(self, images: Tensor, params: Params) -> Tensor:
        if self.kernel == 1:
            return images
        return apply_to_subset(images, params["apply"], self._blur, params["sigma"])

    def _blur(self, images: Tensor, sigma: Tensor) -> Tensor:
        sigma_xy = sigma[:, None].expand(-1, 2)
        return gaussian_blur2d(images, (self.kernel, self.kernel), sigma_xy, border_type="reflect")
