"""The options every dataset accepts through ``load``: limit, channels, size, pad.

They are applied in that order: ``limit`` first so quick runs never touch the full data,
then ``channels``, then ``size`` (antialiased resize to size x size), then ``pad`` (zero
border). Images stay uint8 throughout; ids and labels are untouched (except by ``limit``).
"""

from __future__ import annotations

from numbers import Integral

import torch
from torchvision.transforms.v2 import functional as F

from mnemoscope.data.imageset import DatasetBundle, ImageSet

COMMON_OPTIONS = ("size", "pad", "channels", "limit")
CHUNK = 4096  # images converted at a time


def _check_int(name: str, value: object, minimum: int) -> int:
    # numbers.Integral admits numpy integers (e.g. from a config computed with numpy).
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def to_channels(images: torch.Tensor, channels: int) -> torch.Tensor:
    """Grey -> RGB repeats the channel; RGB -> grey uses ITU-R 601 luma (torchvision)."""
    have = images.shape[1]
    if have == channels:
        return images
    if have == 1 and channels == 3:
        return images.repeat(1, 3, 1, 1)
    if have == 3 and channels == 1:
        # torchvision's uint8 path truncates (grey 200 becomes 199), so convert in float and
        # round; in chunks so a large dataset never needs a full float copy.
        chunks = images.split(CHUNK)
        return torch.cat([F.rgb_to_grayscale(c.float()).round_().to(torch.uint8) for c in chunks])
    raise ValueError(f"cannot convert {have}-channel images to {channels} channels")


def resize_square(images: torch.Tensor, size: int) -> torch.Tensor:
    """Antialiased bilinear resize of a uint8 batch to size x size (aspect ratio not kept)."""
    if tuple(images.shape[-2:]) == (size, size):
        return images
    return F.resize(images, [size, size], antialias=True)


def zero_pad(images: torch.Tensor, pixels: int) -> torch.Tensor:
    """Zero border of ``pixels`` on every side."""
    return F.pad(images, [pixels], fill=0) if pixels else images


def preprocess_set(
    images: ImageSet,
    size: int | None = None,
    pad_pixels: int | None = None,
    channels: int | None = None,
    limit: int | None = None,
) -> ImageSet:
    """One split with the options applied (values already checked by ``preprocess``)."""
    if limit is not None:
        images = images.subset(torch.arange(min(limit, len(images))))
    pixels = images.images
    if channels is not None:
        pixels = to_channels(pixels, channels)
    if size is not None:
        pixels = resize_square(pixels, size)
    if pad_pixels is not None:
        pixels = zero_pad(pixels, pad_pixels)
    if pixels is images.images:
        return images
    return ImageSet(pixels.contiguous(), images.labels, images.ids)


def preprocess(
    bundle: DatasetBundle,
    size: int | None = None,
    pad: int | None = None,
    channels: int | None = None,
    limit: int | None = None,
) -> DatasetBundle:
    """``bundle`` with the common options applied to both splits (see the module docstring).

    Args:
        size: resize every image to size x size (antialiased).
        pad: add this many zero pixels on each side (after resizing, if both are given).
        channels: 1 or 3; grey is repeated to RGB, RGB is converted to luma.
        limit: keep only the first ``limit`` examples of each split.
    """
    size = None if size is None else _check_int("size", size, 1)
    pad = None if pad is None else _check_int("pad", pad, 0)
    limit = None if limit is None else _check_int("limit", limit, 1)
    channels = None if channels is None else _check_int("channels", channels, 1)
    if channels not in (None, 1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels!r}")
    if (size, pad, channels, limit) == (None, None, None, None):
        return bundle
    return DatasetBundle(
        name=bundle.name,
        train=preprocess_set(bundle.train, size, pad, channels, limit),
        test=preprocess_set(bundle.test, size, pad, channels, limit),
        classes=bundle.classes,
    )
