"""The `Augmentation` callable and the `Stage` protocol its steps follow.

An augmentation is a short list of stages (crop, colour jitter, blur, ...). Every stage works in two
halves, as kornia's augmentation modules do (``forward_parameters`` / ``apply_transform``):

1. ``sample`` draws the per-sample parameters of a batch *on the CPU* from a caller-supplied
   ``torch.Generator``. Every parameter tensor has the batch as its leading dimension.
2. ``apply`` moves nothing and draws nothing: it takes the parameters (already on the images'
   device) and runs batched kornia ops with them.

Keeping the two halves apart is what makes views reproducible: the same seed gives the same
parameters, hence the same views, on cpu, cuda or mps, and the global RNG is never touched. It also
lets `make_bank` draw parameters per block of images and apply them per chunk of any size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

ImageShape = tuple[int, int, int]  # (channels, height, width) of one image
Params = dict[str, Tensor]  # one stage's per-sample parameters, batch first


class Stage:
    """One step of an augmentation.

    Subclasses override ``apply`` and, when they draw anything, ``sample``; a stage that changes
    the image size overrides ``output_shape``. ``apply`` owns the tensor it is given (the first
    stage of every augmentation returns a fresh tensor), so it may write into it in place.
    """

    def output_shape(self, shape: ImageShape) -> ImageShape:
        return shape

    def sample(self, n: int, shape: ImageShape, generator: torch.Generator) -> Params:
        return {}

    def apply(self, images: Tensor, params: Params) -> Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({fields})"


class Augmentation:
    """A random image augmentation: ``augmentation(images, generator) -> views``.

    Takes a batch ``[B, C, H, W]`` (uint8 in 0..255 or float in [0, 1], C = 1 or 3, any device) and
    returns float32 views ``[B, C, *size]`` in [0, 1] on the same device, without normalization.
    Each image of the batch gets its own random parameters, all drawn on the CPU from
    ``generator``. Build one with `mnemoscope.augment.get`.

    Attributes:
        name: the preset name.
        size: output (height, width).
        params: the resolved preset parameters (JSON/YAML-safe: sequences are lists).
        stages: the steps, applied in order.
    """

    def __init__(
        self, name: str, size: tuple[int, int], params: dict[str, Any], stages: Sequence[Stage]
    ) -> None:
        self.name = name
        self.size = size
        self.params = params
        self.stages = list(stages)

    def sample(self, n: int, shape: ImageShape, generator: torch.Generator) -> list[Params]:
        """Draw the CPU parameters of ``n`` views of images of ``shape`` (C, H, W)."""
        params = []
        for stage in self.stages:
            params.append(stage.sample(n, shape, generator))
            shape = stage.output_shape(shape)
        return params

    def apply(self, images: Tensor, params: list[Params]) -> Tensor:
        """Apply parameters from `sample` (any device) to ``images`` (uint8 or float)."""
        check_images(images)
        views = to_float_images(images)
        for stage, stage_params in zip(self.stages, params, strict=True):
            moved = {k: v.to(views.device, non_blocking=True) for k, v in stage_params.items()}
            views = stage.apply(views, moved)
        # the stages already stay in [0, 1]; the clamp guarantees it (and never aliases the input)
        return views.clamp(0.0, 1.0)

    def __call__(self, images: Tensor, generator: torch.Generator | None = None) -> Tensor:
        check_images(images)
        generator = resolve_generator(generator)
        params = self.sample(images.shape[0], tuple(images.shape[1:]), generator)
        return self.apply(images, params)

    def __repr__(self) -> str:
        return f"Augmentation(name={self.name!r}, size={self.size}, params={self.params})"


# --- helpers shared by the stages -----------------------------------------------------------------


def check_images(images: Tensor) -> None:
    if not isinstance(images, Tensor):
        raise ValueError(f"images must be a torch.Tensor, got {type(images).__name__}")
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"images must be [B, C, H, W] with C = 1 or 3, got {tuple(images.shape)}")
    if images.dtype != torch.uint8 and not images.is_floating_point():
        raise ValueError(f"images must be uint8 (0..255) or float (0..1), got {images.dtype}")
    check_float_range(images)


def check_float_range(images: Tensor) -> None:
    """Refuse float images with NaN, infinities or values outside [0, 1] (e.g. 0..255 floats,
    which would be silently scored or augmented on the wrong scale); uint8 passes as it is."""
    if not images.is_floating_point() or images.numel() == 0:
        return
    finite = torch.isfinite(images)
    if not bool(finite.all()):
        bad = images[~finite]
        kind = "NaN" if bool(bad.isnan().any()) else "infinite values"
        raise ValueError(
            f"images hold {kind} ({int(bad.numel())} of {images.numel()} values): float images "
            "must be finite, in [0, 1]"
        )
    low, high = (float(v) for v in torch.aminmax(images))
    if low < 0 or high > 1:
        hint = "; divide 0..255 images by 255 or pass them as uint8" if high > 1 else ""
        raise ValueError(f"float images must be in [0, 1], got values in [{low:g}, {high:g}]{hint}")


def to_float_images(images: Tensor) -> Tensor:
    """uint8 0..255 -> float32 0..1; float -> float32 (assumed already in [0, 1])."""
    if images.dtype == torch.uint8:
        return images.to(torch.float32).div_(255.0)
    return images.to(torch.float32)


def resolve_generator(generator: torch.Generator | None) -> torch.Generator:
    """The caller's CPU generator, or a fresh one seeded from the OS (not from the global RNG)."""
    if generator is None:
        fresh = torch.Generator()
        fresh.seed()  # non-deterministic; a bare torch.Generator() always has the same seed
        return fresh
    if not isinstance(generator, torch.Generator) or generator.device.type != "cpu":
        raise ValueError(f"generator must be a CPU torch.Generator, got {generator!r}")
    return generator


def uniform(
    shape: int | tuple[int, ...], low: float, high: float, generator: torch.Generator
) -> Tensor:
    """float32 draws from U[low, high)."""
    shape = (shape,) if isinstance(shape, int) else shape
    return torch.rand(shape, generator=generator).mul_(high - low).add_(low)


def bernoulli(n: int, p: float, generator: torch.Generator) -> Tensor:
    """``n`` bool draws, True with probability ``p`` (always consumes ``n`` draws)."""
    return torch.rand(n, generator=generator) < p


def apply_to_subset(
    images: Tensor, selected: Tensor, op: Callable[..., Tensor], *per_sample: Tensor
) -> Tensor:
    """``op(images[i], per_sample[i] ...)`` for the selected samples, the others untouched.

    Runs ``op`` once on the selected sub-batch (instead of on everything followed by a
    ``torch.where``), so an op applied with probability p costs about p of a full-batch call.
    Writes into ``images`` in place (stages own their input, see `Stage`).
    """
    index = selected.nonzero().squeeze(1)
    count = index.numel()
    if count == 0:
        return images
    if count == images.shape[0]:
        return op(images, *per_sample)
    images[index] = op(images[index], *(p[index] for p in per_sample))
    return images
