"""The registry of augmentation presets: `get(name, size, **params)` and `names()`.

A preset is a function ``preset(size, *, param=default, ...) -> (resolved params, stages)``. Its
keyword arguments are the parameters a caller may override and its defaults are the recipe's;
the docstring gives the source of every default. Register one with ``@preset("name")``.

Papers: 001 = memorization profiles of SimCLR (appendix A); 002 = SSLMem (appendix B.1,
tables 8 and 9); 003 = benign memorization (appendix F, table 6; fig. 12).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from mnemoscope.augment import validation as check
from mnemoscope.augment.base import Augmentation, Stage
from mnemoscope.augment.blur import RandomGaussianBlur, default_blur_kernel
from mnemoscope.augment.color import ColorJitter, RandomGrayscale
from mnemoscope.augment.crops import PadCropFlip, Resize, ResizedCropFlip
from mnemoscope.augment.masking import PatchMask
from mnemoscope.augment.noise import GaussianNoise
from mnemoscope.augment.randaugment import NUM_BINS, RandAugment
from mnemoscope.augment.rotation import Rotate

Built = tuple[dict[str, Any], list[Stage]]
_PRESETS: dict[str, Callable[..., Built]] = {}


def preset(name: str) -> Callable[[Callable[..., Built]], Callable[..., Built]]:
    def register(build: Callable[..., Built]) -> Callable[..., Built]:
        _PRESETS[name] = build
        return build

    return register


def names() -> list[str]:
    """The registered preset names, sorted."""
    return sorted(_PRESETS)


def parameters(name: str) -> dict[str, Any]:
    """The overridable parameters of preset ``name`` and their defaults."""
    build = _lookup(name)
    signature = inspect.signature(build).parameters
    return {key: p.default for key, p in signature.items() if p.kind is p.KEYWORD_ONLY}


def get(name: str, size: int | tuple[int, int], **params: Any) -> Augmentation:
    """The augmentation ``name`` producing ``size`` x ``size`` (or (height, width)) views.

    Keyword arguments override the preset's defaults (see ``names()`` and each preset's
    docstring in this module). Unknown names, unknown parameters and invalid values raise
    ValueError naming them.
    """
    allowed = parameters(name)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))} for augmentation {name!r}; "
            f"allowed: {', '.join(allowed) or '(none)'}"
        )
    resolved_size = check.size(size)
    resolved, stages = _PRESETS[name](resolved_size, **params)
    return Augmentation(name, resolved_size, resolved, stages)


def _lookup(name: str) -> Callable[..., Built]:
    if name not in _PRESETS:
        raise ValueError(f"unknown augmentation {name!r}; choose one of: {', '.join(names())}")
    return _PRESETS[name]


# --- SSL recipes ------------------------------------------------------------------------------


@preset("simclr")
def simclr(
    size: tuple[int, int],
    *,
    crop_scale: tuple[float, float] = (0.08, 1.0),
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3),
    flip_p: float = 0.5,
    jitter: tuple[float, float, float, float] = (0.4, 0.4, 0.4, 0.1),
    jitter_p: float = 0.8,
    grey_p: float = 0.2,
    blur_p: float = 0.5,
    blur_sigma: tuple[float, float] = (0.1, 2.0),
    blur_kernel: int | None = None,
) -> Built:
    """SimCLR's augmentation (Chen et al. 2020, appendix A), as used by paper 001 (appendix A).

    Defaults, all from SimCLR appendix A / its torchvision port (paper 002 appendix B.1 lists the
    same crop, flip, jitter and greyscale values):

    * random resized crop, area ``crop_scale`` (0.08, 1), aspect ``crop_ratio`` (3/4, 4/3);
    * horizontal flip, ``flip_p`` 0.5;
    * colour jitter ``jitter`` (brightness 0.4, contrast 0.4, saturation 0.4, hue 0.1) with
      probability ``jitter_p`` 0.8, the four ops in a random order per sample (as torchvision);
    * greyscale, ``grey_p`` 0.2;
    * Gaussian blur, ``blur_p`` 0.5, sigma ``blur_sigma`` (0.1, 2.0), kernel ``blur_kernel`` =
      10% of the image side made odd (None; 3 for 28-32 px). SimCLR's own CIFAR-10 runs drop the
      blur (paper 002's list has none): pass ``blur_p=0`` for that recipe.

    Order: crop+flip, jitter, greyscale, blur. On 1-channel images saturation, hue and greyscale
    are no-ops (as in torchvision); brightness and contrast still apply.
    """
    return _contrastive(size, crop_scale, crop_ratio, flip_p, jitter, jitter_p, grey_p, blur_p,
                        blur_sigma, blur_kernel)  # fmt: skip


@preset("benign")
def benign(
    size: tuple[int, int],
    *,
    crop_scale: tuple[float, float] = (0.08, 1.0),
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3),
    flip_p: float = 0.5,
    jitter: tuple[float, float, float, float] = (0.8, 0.8, 0.8, 0.2),
    jitter_p: float = 0.8,
    grey_p: float = 0.2,
    blur_p: float = 0.0,
    blur_sigma: tuple[float, float] = (0.1, 2.0),
    blur_kernel: int | None = None,
) -> Built:
    """Paper 003's random-labels augmentation (appendix F, table 6), same stages as ``simclr``.

    From table 6: crop scale (0.08, 1), flip 0.5, colour jitter (0.8, 0.8, 0.8, 0.2), greyscale
    0.2, no blur (``blur_p`` 0). Table 6 gives no jitter probability or aspect ratio: ``jitter_p``
    0.8 and ``crop_ratio`` (3/4, 4/3) are those of the SimCLR/BYOL/SimSiam pipelines the paper
    says it follows (section 4). Mixup (also in table 6) is separate: `mnemoscope.augment.mixup`.
    """
    return _contrastive(size, crop_scale, crop_ratio, flip_p, jitter, jitter_p, grey_p, blur_p,
                        blur_sigma, blur_kernel)  # fmt: skip


def _contrastive(
    size: tuple[int, int],
    crop_scale: Any,
    crop_ratio: Any,
    flip_p: Any,
    jitter: Any,
    jitter_p: Any,
    grey_p: Any,
    blur_p: Any,
    blur_sigma: Any,
    blur_kernel: Any,
) -> Built:
    resolved = {
        "crop_scale": check.interval("crop_scale", crop_scale, high=1.0),
        "crop_ratio": check.interval("crop_ratio", crop_ratio),
        "flip_p": check.probability("flip_p", flip_p),
        "jitter": check.jitter("jitter", jitter),
        "jitter_p": check.probability("jitter_p", jitter_p),
        "grey_p": check.probability("grey_p", grey_p),
        "blur_p": check.probability("blur_p", blur_p),
        "blur_sigma": check.interval("blur_sigma", blur_sigma),
        "blur_kernel": (
            default_blur_kernel(size)
            if blur_kernel is None
            else check.odd_kernel("blur_kernel", blur_kernel)
        ),
    }
    r = resolved
    stages = [
        ResizedCropFlip(size, r["crop_scale"], r["crop_ratio"], r["flip_p"]),
        ColorJitter(r["jitter"], r["jitter_p"]),
        RandomGrayscale(r["grey_p"]),
        RandomGaussianBlur(r["blur_kernel"], r["blur_sigma"], r["blur_p"]),
    ]
    return _as_record(resolved), stages


# --- supervised and identity ------------------------------------------------------------------


@preset("weak")
def weak(size: tuple[int, int], *, pad: int = 4, flip_p: float = 0.5) -> Built:
    """The supervised CIFAR recipe (paper 001 appendix A: "random crop, horizontal flipping").

    Zero-pad ``pad`` (4, the standard CIFAR value of He et al. 2016) pixels, random crop back to
    ``size``, horizontal flip ``flip_p`` 0.5. Images not already ``size`` are resized first.
    """
    resolved = {"pad": check.integer("pad", pad, 0), "flip_p": check.probability("flip_p", flip_p)}
    return resolved, [Resize(size), PadCropFlip(resolved["pad"], resolved["flip_p"])]


@preset("none")
def none(size: tuple[int, int]) -> Built:
    """No augmentation: float32 in [0, 1], resized (bilinear, antialiased) if not ``size``."""
    return {}, [Resize(size)]


# --- measurement augmentations (paper 002, appendix B.1) -----------------------------------------


@preset("gaussian_noise")
def gaussian_noise(size: tuple[int, int], *, std: float = 0.2) -> Built:
    """Additive N(0, ``std``^2) pixel noise, clamped to [0, 1]; std 0.2 from paper 002 table 8."""
    resolved = {"std": check.non_negative("std", std)}
    return resolved, [Resize(size), GaussianNoise(resolved["std"])]


@preset("rotate")
def rotate(size: tuple[int, int], *, degrees: float = 90.0) -> Built:
    """A fixed counter-clockwise rotation; 90 from paper 002 table 8 (which also uses 270)."""
    resolved = {"degrees": check.real("degrees", degrees)}
    return resolved, [Resize(size), Rotate(resolved["degrees"])]


@preset("color_drop")
def color_drop(size: tuple[int, int], *, p: float = 0.25) -> Built:
    """Greyscale with probability ``p``; 0.25 from paper 002 table 8 ("ColorDrop 0.25")."""
    resolved = {"p": check.probability("p", p)}
    return resolved, [Resize(size), RandomGrayscale(resolved["p"])]


@preset("mask")
def mask(size: tuple[int, int], *, ratio: float = 0.75, patch: int = 4) -> Built:
    """MAE-style masking: zero a ``ratio`` of the ``patch`` x ``patch`` patches.

    ``ratio`` 0.75 is MAE's default and paper 002's masking ("random masking (75% MAE)", table 9;
    MAE masking ratios in table 9b). ``patch`` 4 (an 8 x 8 grid on 32 px, 7 x 7 on 28 px) is this
    toolkit's choice: paper 002 gives no patch size; its ViT-tiny returns 257 tokens (256 patches
    + CLS, appendix A), which on unresized 32 px images means 2-pixel patches (``patch=2``).
    """
    resolved = {
        "ratio": check.fraction_below_one("ratio", ratio),
        "patch": check.integer("patch", patch, 1),
    }
    return resolved, [Resize(size), PatchMask(resolved["ratio"], resolved["patch"])]


@preset("randaugment")
def randaugment(size: tuple[int, int], *, strength: int = 9, num_ops: int = 2) -> Built:
    """RandAugment at magnitude ``strength`` (0..30), ``num_ops`` ops per image.

    Paper 003 fig. 12 varies "the strength level of RandAugment" (levels 1..7) without giving
    the scale; we use torchvision's RandAugment: 31 magnitude bins, defaults magnitude 9 and
    num_ops 2 (Cubuk et al. 2020's ImageNet setting). RandAugment only: no crop or flip.
    """
    resolved = {
        "strength": check.integer("strength", strength, 0, NUM_BINS - 1),
        "num_ops": check.integer("num_ops", num_ops, 0),
    }
    return resolved, [Resize(size), RandAugment(resolved["num_ops"], resolved["strength"])]


def _as_record(params: dict[str, Any]) -> dict[str, Any]:
    """Tuples -> lists, so ``Augmentation.params`` dumps to JSON and YAML (safe_dump) as is."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}
