"""Turn user-provided numpy arrays into a validated ``ImageSet``.

Images may be [N, H, W] (grey), [N, H, W, C] or [N, C, H, W]. With ``layout="auto"`` the
channel axis is found by size: if the last axis has 1 or 3 entries and axis 1 does not, the
array is NHWC; otherwise, if axis 1 has 1 or 3 entries, it is NCHW; anything else is refused.
(So a [N, 3, 32, 3] array is read as NCHW; pass ``layout="nhwc"`` to say otherwise.)
Pixel values must be uint8, or floats in [0, 1] which are scaled by 255 and rounded.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch

from mnemoscope.data.imageset import ImageSet

Layout = Literal["auto", "nchw", "nhwc"]
CHANNEL_COUNTS = (1, 3)


def _first_index(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(mask)), mask.shape))


def to_uint8(images: np.ndarray, name: str = "images") -> np.ndarray:
    """uint8 pixels, unchanged; float pixels in [0, 1] -> round(255 * x); anything else refused."""
    if images.dtype == np.uint8:
        return images
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(
            f"{name} must be uint8 (0..255) or float in [0, 1], got dtype {images.dtype}"
        )
    finite = np.isfinite(images)
    if not finite.all():
        first = _first_index(~finite)
        raise ValueError(
            f"{name} contain {int((~finite).sum())} non-finite values "
            f"(first at index {first}: {images[first]})"
        )
    if images.size and (images.min() < 0.0 or images.max() > 1.0):
        raise ValueError(
            f"float {name} must lie in [0, 1], got values in [{images.min()}, {images.max()}]"
        )
    return np.rint(images * 255.0).astype(np.uint8)


def to_nchw(images: np.ndarray, layout: Layout = "auto", name: str = "images") -> np.ndarray:
    """[N, C, H, W] view of [N, H, W], [N, H, W, C] or [N, C, H, W] images."""
    if images.ndim == 3:
        return images[:, None]
    if images.ndim != 4:
        raise ValueError(
            f"{name} must be [N, H, W], [N, H, W, C] or [N, C, H, W], got shape {images.shape}"
        )
    if layout == "auto":
        if images.shape[-1] in CHANNEL_COUNTS and images.shape[1] not in CHANNEL_COUNTS:
            layout = "nhwc"
        elif images.shape[1] in CHANNEL_COUNTS:
            layout = "nchw"
        else:
            raise ValueError(
                f"{name} of shape {images.shape} have no channel axis of size 1 or 3 at position "
                "1 or 3; pass layout='nchw' or layout='nhwc'"
            )
    if layout == "nhwc":
        return images.transpose(0, 3, 1, 2)
    if layout == "nchw":
        return images
    raise ValueError(f"layout must be 'auto', 'nchw' or 'nhwc', got {layout!r}")


def to_index_vector(values: np.ndarray, n: int, name: str) -> np.ndarray:
    """A 1-D int64 copy of integer ``values`` of length ``n`` (labels or ids)."""
    values = np.asarray(values)
    if not np.issubdtype(values.dtype, np.integer):
        raise ValueError(f"{name} must have an integer dtype, got {values.dtype}")
    if values.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},) (one per image), got {values.shape}")
    return values.astype(np.int64)


def image_set_from_arrays(
    images: np.ndarray,
    labels: np.ndarray,
    ids: np.ndarray | None = None,
    layout: Layout = "auto",
    split: str | None = None,
) -> ImageSet:
    """Validated ``ImageSet`` from numpy arrays; ``ids`` default to 0..N-1.

    ``split`` (e.g. "train") only prefixes the array names in error messages.
    """
    prefix = f"{split}_" if split else ""
    images = to_nchw(to_uint8(np.asarray(images), f"{prefix}images"), layout, f"{prefix}images")
    n = images.shape[0]
    labels = to_index_vector(labels, n, f"{prefix}labels")
    ids = np.arange(n, dtype=np.int64) if ids is None else to_index_vector(ids, n, f"{prefix}ids")
    return ImageSet(
        images=torch.from_numpy(np.ascontiguousarray(images)),
        labels=torch.from_numpy(labels),
        ids=torch.from_numpy(ids),
    )
