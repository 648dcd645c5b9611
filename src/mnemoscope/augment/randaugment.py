"""RandAugment (Cubuk et al. 2020) with per-sample operations, on kornia's functional ops.

Paper 003 (appendix, fig. 12) varies augmentation strength with "the strength level of
RandAugment". We take that to be RandAugment's magnitude M on torchvision's scale (31 bins, 0..30,
default 9) and reproduce torchvision's ``transforms.v2.RandAugment``: its 14 operations, magnitude
tables, random sign for signed operations and nearest-neighbour interpolation with black fill.

``kornia.augmentation.auto.RandAugment`` is not used: it draws one set of operations per *batch*
from the global RNG, and we need operations drawn per *sample* from the caller's generator.
"""

from __future__ import annotations

import torch
from kornia.enhance import (
    adjust_brightness_accumulative,
    adjust_contrast_with_mean_subtraction,
    adjust_saturation_with_gray_subtraction,
    equalize,
    normalize_min_max,
    posterize,
    sharpness,
    solarize,
)
from kornia.geometry.transform import rotate, shear, translate
from torch import Tensor

from mnemoscope.augment.base import ImageShape, Params, Stage, apply_to_subset

NUM_BINS = 31  # torchvision's num_magnitude_bins: magnitudes 0..30

OPERATIONS = (
    "identity", "shear_x", "shear_y", "translate_x", "translate_y", "rotate", "brightness",
    "color", "contrast", "sharpness", "posterize", "solarize", "autocontrast", "equalize",
)  # fmt: skip
SIGNED = {"shear_x", "shear_y", "translate_x", "translate_y", "rotate", "brightness", "color",
          "contrast", "sharpness"}  # fmt: skip


def operation_magnitude(operation: str, strength: int, height: int, width: int) -> float:
    """torchvision's (unsigned) magnitude table, read at bin ``strength``."""
    fraction = strength / (NUM_BINS - 1)
    if operation in ("shear_x", "shear_y"):
        return 0.3 * fraction
    if operation == "translate_x":
        return float(int(150.0 / 331.0 * width * fraction))  # whole pixels, as torchvision
    if operation == "translate_y":
        return float(int(150.0 / 331.0 * height * fraction))
    if operation == "rotate":
        return 30.0 * fraction  # degrees
    if operation in ("brightness", "color", "contrast", "sharpness"):
        return 0.9 * fraction
    if operation == "posterize":
        return float(8 - round(strength / ((NUM_BINS - 1) / 4)))  # bits kept
    if operation == "solarize":
        return 1.0 - fraction  # threshold
    return 0.0


def _stack_xy(x: Tensor, y: Tensor) -> Tensor:
    return torch.stack([x, y], dim=1)


def _autocontrast(images: Tensor, _: Tensor) -> Tensor:
    stretched = normalize_min_max(images)
    # torchvision leaves a constant channel unchanged; normalize_min_max would send it to 0
    flat = images.flatten(2)
    constant = (flat.amax(dim=2) == flat.amin(dim=2))[..., None, None]
    return torch.where(constant, images, stretched)


_GEOMETRY = {"mode": "nearest", "padding_mode": "zeros"}

# op(images, signed_magnitude[k]) -> images, for every operation but the identity
_APPLY = {
    "shear_x": lambda x, m: shear(x, _stack_xy(m, torch.zeros_like(m)), **_GEOMETRY),
    "shear_y": lambda x, m: shear(x, _stack_xy(torch.zeros_like(m), m), **_GEOMETRY),
    "translate_x": lambda x, m: translate(x, _stack_xy(m, torch.zeros_like(m)), **_GEOMETRY),
    "translate_y": lambda x, m: translate(x, _stack_xy(torch.zeros_like(m), m), **_GEOMETRY),
    "rotate": lambda x, m: rotate(x, m, **_GEOMETRY),
    "brightness": lambda x, m: adjust_brightness_accumulative(x, 1 + m),
    "color": lambda x, m: adjust_saturation_with_gray_subtraction(x, 1 + m),
    "contrast": lambda x, m: adjust_contrast_with_mean_subtraction(x, 1 + m),
    "sharpness": lambda x, m: sharpness(x, 1 + m),
    "posterize": lambda x, m: posterize(x, m.round().long()),
    "solarize": lambda x, m: solarize(x, m),
    "autocontrast": _autocontrast,
    "equalize": lambda x, m: equalize(x),
}


class RandAugment(Stage):
    """``num_ops`` operations per image, each uniform over the 14, all at magnitude ``strength``."""

    def __init__(self, num_ops: int, strength: int) -> None:
        self.num_ops = num_ops
        self.strength = strength

    def sample(self, n: int, shape: ImageShape, generator: torch.Generator) -> Params:
        operations = torch.randint(0, len(OPERATIONS), (n, self.num_ops), generator=generator)
        negate = torch.rand(n, self.num_ops, generator=generator) <= 0.5  # torchvision's sign
        return {"operations": operations, "negate": negate}

    def apply(self, images: Tensor, params: Params) -> Tensor:
        height, width = images.shape[-2:]
        sign = 1.0 - 2.0 * params["negate"].to(images.dtype)
        for slot in range(self.num_ops):
            for index, name in enumerate(OPERATIONS):
                if name == "identity" or (name == "color" and images.shape[1] == 1):
                    continue  # saturation is a no-op on greyscale images
                magnitude = operation_magnitude(name, self.strength, height, width)
                if name in SIGNED:
                    signed = sign[:, slot] * magnitude
                else:
                    signed = torch.full_like(sign[:, slot], magnitude)
                selected = params["operations"][:, slot] == index
                images = apply_to_subset(images, selected, _APPLY[name], signed)
        return images
