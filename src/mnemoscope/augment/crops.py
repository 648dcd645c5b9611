"""Crop-box sampling and the geometric first stage of every augmentation.

* `sample_resized_crop_boxes`: torchvision's ``RandomResizedCrop.get_params`` vectorised over a
  batch (same area/aspect-ratio distribution, same 10 attempts, same centre-crop fallback).
* `ResizedCropFlip`: random resized crop + horizontal flip (SimCLR, Chen et al. 2020; paper 001
  appendix A, paper 003 table 6), done by one kornia affine warp per batch.
* `PadCropFlip`: the supervised CIFAR recipe, zero-pad then random crop back + horizontal flip.
* `Resize`: deterministic resize to the output size (identity when the size already matches).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from kornia.geometry.transform import crop_by_indices, crop_by_transform_mat, hflip, resize
from torch import Tensor

from mnemoscope.augment.base import ImageShape, Params, Stage, apply_to_subset, bernoulli

ATTEMPTS = 10  # torchvision's RandomResizedCrop.get_params tries 10 boxes before falling back


def sample_resized_crop_boxes(
    n: int,
    height: int,
    width: int,
    scale: tuple[float, float],
    ratio: tuple[float, float],
    generator: torch.Generator,
) -> Tensor:
    """``n`` crop boxes ``[n, 4]`` int64 rows (top, left, box_height, box_width).

    Same distribution as torchvision's ``RandomResizedCrop.get_params``: area fraction ~ U(scale),
    log aspect ratio ~ U(log ratio); the first of 10 attempts that fits is kept, else a centre
    crop with the ratio clamped to ``ratio``. The box position is uniform over valid positions.
    """
    area = height * width
    log_ratio = torch.tensor(ratio, dtype=torch.float64).log()
    # float64 so the rounding of w and h matches torchvision's Python-float arithmetic
    area_draws = torch.rand(n, ATTEMPTS, generator=generator, dtype=torch.float64)
    ratio_draws = torch.rand(n, ATTEMPTS, generator=generator, dtype=torch.float64)
    position_draws = torch.rand(n, 2, generator=generator, dtype=torch.float64)

    target_area = area * (scale[0] + (scale[1] - scale[0]) * area_draws)
    aspect = torch.exp(log_ratio[0] + (log_ratio[1] - log_ratio[0]) * ratio_draws)
    widths = torch.sqrt(target_area * aspect).round().long()
    heights = torch.sqrt(target_area / aspect).round().long()
    fits = (widths > 0) & (widths <= width) & (heights > 0) & (heights <= height)
    first = fits.long().argmax(dim=1, keepdim=True)  # index of the first fitting attempt
    box_w = widths.gather(1, first).squeeze(1)
    box_h = heights.gather(1, first).squeeze(1)

    # fallback for rows where no attempt fits: torchvision's centre crop
    in_ratio = width / height
    if in_ratio < min(ratio):
        fallback_w, fallback_h = width, int(round(width / min(ratio)))
    elif in_ratio > max(ratio):
        fallback_w, fallback_h = int(round(height * max(ratio))), height
    else:
        fallback_w, fallback_h = width, height
    none_fit = ~fits.any(dim=1)
    box_w = torch.where(none_fit, fallback_w, box_w)
    box_h = torch.where(none_fit, fallback_h, box_h)

    # uniform integer positions (torch.randint has no per-row bounds); the clamp guards u -> 1
    span_y, span_x = height - box_h + 1, width - box_w + 1
    top = torch.minimum((position_draws[:, 0] * span_y).long(), span_y - 1)
    left = torch.minimum((position_draws[:, 1] * span_x).long(), span_x - 1)
    top = torch.where(none_fit, (height - box_h) // 2, top)
    left = torch.where(none_fit, (width - box_w) // 2, left)
    return torch.stack([top, left, box_h, box_w], dim=1)


class ResizedCropFlip(Stage):
    """Random resized crop to ``size`` plus a horizontal flip with probability ``flip_p``.

    The crop is resampled bilinearly with torchvision's pixel-centre convention (what
    ``F.interpolate(align_corners=False)`` does), without antialiasing: crops are upsampled
    whenever the output is not smaller than the input, as with CIFAR / Fashion-MNIST.
    """

    def __init__(
        self,
        size: tuple[int, int],
        scale: tuple[float, float],
        ratio: tuple[float, float],
        flip_p: float,
    ) -> None:
        self.size = size
        self.scale = scale
        self.ratio = ratio
        self.flip_p = flip_p

    def output_shape(self, shape: ImageShape) -> ImageShape:
        return (shape[0], *self.size)

    def sample(self, n: int, shape: ImageShape, generator: torch.Generator) -> Params:
        boxes = sample_resized_crop_boxes(n, shape[1], shape[2], self.scale, self.ratio, generator)
        return {"boxes": boxes, "flip": bernoulli(n, self.flip_p, generator)}

    def apply(self, images: Tensor, params: Params) -> Tensor:
        matrix = crop_flip_matrix(params["boxes"], params["flip"], self.size)
        # kornia's crop_and_resize takes corner boxes but solves a perspective system per box
        # (~6x slower here); the same crop as an affine matrix takes kornia's warp_affine path.
        return crop_by_transform_mat(
            images, matrix.to(images.dtype), self.size, padding_mode="border", align_corners=True
        )


def crop_flip_matrix(boxes: Tensor, flip: Tensor, size: tuple[int, int]) -> Tensor:
    """``[n, 2, 3]`` pixel-space affine maps from each input box to the ``size`` output.

    Output pixel u samples input x = left - 0.5 + (u + 0.5) * box_w / out_w (pixel centres, as
    torchvision's resize), i.e. u = a x + b with a = out_w / box_w, b = (0.5 - left) a - 0.5.
    A flip mirrors the output: u -> out_w - 1 - u. kornia's ``align_corners=True`` reads these
    matrices in the same pixel-index coordinates.
    """
    out_h, out_w = size
    top, left, box_h, box_w = boxes.to(torch.float32).unbind(1)
    scale_x, scale_y = out_w / box_w, out_h / box_h
    shift_x = (0.5 - left) * scale_x - 0.5
    shift_y = (0.5 - top) * scale_y - 0.5
    sign = 1.0 - 2.0 * flip.to(torch.float32)  # -1 where flipped
    matrix = torch.zeros(boxes.shape[0], 2, 3, device=boxes.device)
    matrix[:, 0, 0] = sign * scale_x
    matrix[:, 0, 2] = torch.where(flip, out_w - 1 - shift_x, shift_x)
    matrix[:, 1, 1] = scale_y
    matrix[:, 1, 2] = shift_y
    return matrix


class PadCropFlip(Stage):
    """Zero-pad by ``pad`` on every side, crop back to the input size at a random offset, flip.

    The supervised CIFAR recipe (``RandomCrop(32, padding=4)`` + ``RandomHorizontalFlip``; He et
    al. 2016), used for the supervised runs of paper 001 (appendix A). Every output is an exact
    shifted (and maybe mirrored) window of the padded image.
    """

    def __init__(self, pad: int, flip_p: float) -> None:
        self.pad = pad
        self.flip_p = flip_p

    def sample(self, n: int, shape: ImageShape, generator: torch.Generator) -> Params:
        offsets = torch.randint(0, 2 * self.pad + 1, (n, 2), generator=generator)
        return {"offsets": offsets, "flip": bernoulli(n, self.flip_p, generator)}

    def apply(self, images: Tensor, params: Params) -> Tensor:
        height, width = images.shape[-2:]
        padded = F.pad(images, [self.pad] * 4)
        top, left = params["offsets"].unbind(1)
        right, bottom = left + width - 1, top + height - 1  # kornia boxes are inclusive
        corner_xy = ((left, top), (right, top), (right, bottom), (left, bottom))
        corners = torch.stack([torch.stack(xy, dim=1) for xy in corner_xy], dim=1)
        crops = crop_by_indices(padded, corners, (height, width))
        return apply_to_subset(crops, params["flip"], hflip)


class Resize(Stage):
    """Resize to ``size`` (bilinear, antialiased when shrinking); a copy when already that size."""

    def __init__(self, size: tuple[int, int]) -> None:
        self.size = size

    def output_shape(self, shape: ImageShape) -> ImageShape:
        return (shape[0], *self.size)

    def apply(self, images: Tensor, params: Params) -> Tensor:
        if tuple(images.shape[-2:]) == self.size:
            return images.clone()  # later stages write in place: never hand them the input
        return resize(images, self.size, interpolation="bilinear", antialias=True)
