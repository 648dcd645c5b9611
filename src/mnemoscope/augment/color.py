"""Colour stages: colour jitter and random greyscale (colour drop).

Both follow torchvision's formulas, through kornia's functional ops with per-sample factors:
brightness multiplies, contrast blends with the mean grey level, saturation blends with the
greyscale image, hue rotates the HSV hue by a fraction of a turn.

For 1-channel images, saturation, hue and greyscale are no-ops (as in torchvision); brightness
and contrast still apply.
"""

from __future__ import annotations

import math

import torch
from kornia.color import rgb_to_grayscale
from kornia.enhance import (
    adjust_brightness_accumulative,
    adjust_contrast_with_mean_subtraction,
    adjust_hue,
    adjust_saturation_with_gray_subtraction,
)
from torch import Tensor

from mnemoscope.augment.base import ImageShape, Params, Stage, apply_to_subset, bernoulli


def _hue_turns(images: Tensor, turns: Tensor) -> Tensor:
    return adjust_hue(images, turns * (2 * math.pi))  # kornia wants radians, torchvision turns


# index = position in the jitter 4-tuple (brightness, contrast, saturation, hue)
_JITTER_OPS = (
    adjust_brightness_accumulative,
    adjust_contrast_with_mean_subtraction,
    adjust_saturation_with_gray_subtraction,
    _hue_turns,
)
_NEEDS_RGB = (False, False, True, True)


class ColorJitter(Stage):
    """torchvision's ``RandomApply([ColorJitter(b, c, s, h)], p)``, drawn per sample.

    Factors: brightness, contrast, saturation ~ U[max(0, 1 - x), 1 + x], hue ~ U[-h, h] turns.
    Like torchvision, the four ops run in a random order, drawn per sample. A strength of 0 skips
    its op. All draws are made whether or not a sample is jittered, so the stream of random
    numbers (hence the other stages' parameters) does not depend on the outcomes.
    """

    def __init__(self, strengths: tuple[float, float, float, float], p: float) -> None:
        self.strengths = strengths
        self.p = p

    def sample(self, n: int, shape: ImageShape, generator: torch.Generator) -> Params:
        brightness, contrast, saturation, hue = self.strengths
        low = torch.tensor(
            [max(0.0, 1 - brightness), max(0.0, 1 - contrast), max(0.0, 1 - saturation), -hue]
        )
        high = torch.tensor([1 + brightness, 1 + contrast, 1 + saturation, hue])
        factors = low + (high - low) * torch.rand(n, 4, generator=generator)
        order = torch.rand(n, 4, generator=generator).argsort(dim=1)  # a permutation per sample
        return {"apply": bernoulli(n, self.p, generator), "factors": factors, "order": order}

    def apply(self, images: Tensor, params: Params) -> Tensor:
        rgb = images.shape[1] == 3
        active = [op for op in range(4) if self.strengths[op] > 0 and (rgb or not _NEEDS_RGB[op])]
        for position in range(4):
            for op in active:
                selected = params["apply"] & (params["order"][:, position] == op)
                images = apply_to_subset(
                    images, selected, _JITTER_OPS[op], params["factors"][:, op]
                )
        return images


class RandomGrayscale(Stage):
    """Replace an RGB image by its greyscale (ITU-R 601 luma, as torchvision) with probability p.

    SimCLR's ``RandomGrayscale(p=0.2)``; with p = 0.25 it is paper 002's "ColorDrop 0.25"
    measurement augmentation (table 8). No-op on 1-channel images.
    """

    def __init__(self, p: float) -> None:
        self.p = p

    def sample(self, n: int, shape: ImageShape, generator: torch.Generator) -> Params:
        return {"apply": bernoulli(n, self.p, generator)}

    def apply(self, images: Tensor, params: Params) -> Tensor:
        if images.shape[1] == 1:
            return images
        return apply_to_subset(images, params["apply"], _greyscale_rgb)


def _greyscale_rgb(images: Tensor) -> Tensor:
    # repeat, not expand: later stages write into the batch in place
    return rgb_to_grayscale(images).repeat(1, 3, 1, 1)
