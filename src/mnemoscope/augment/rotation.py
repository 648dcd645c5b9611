"""Fixed rotation (paper 002, table 8: "Rotate 90°" and "Rotate 270°")."""

from __future__ import annotations

import torch
from kornia.geometry.transform import rotate
from torch import Tensor

from mnemoscope.augment.base import Params, Stage


class Rotate(Stage):
    """Rotate every image by ``degrees`` counter-clockwise about its centre (no randomness).

    90 degrees equals ``torch.rot90(images, 1, dims=(-2, -1))`` on square images (up to float
    rounding of the bilinear warp); other angles fill the uncovered corners with black.
    """

    def __init__(self, degrees: float) -> None:
        self.degrees = degrees

    def apply(self, images: Tensor, params: Params) -> Tensor:
        if self.degrees % 360 == 0:
            return images
        angle = torch.full((images.shape[0],), float(self.degrees), device=images.device)
        return rotate(images, angle, mode="bilinear", padding_mode="zeros", align_corners=True)
