"""Batched, seeded image augmentations for measuring memorization.

Public API:

* `get(name, size, **params) -> Augmentation`: a preset (``names()`` lists them), called as
  ``augmentation(images, generator) -> views``: uint8 or [0, 1] float ``[B, C, H, W]`` in,
  float32 ``[B, C, *size]`` in [0, 1] out, same device, no normalization. Per-sample parameters
  are drawn on the CPU from ``generator``, so a seed gives the same views on every device and the
  global RNG is never used.
* `mixup(images, targets, alpha, generator)`: paper 003's mixup.
* `make_bank(images, augmentation, views, seed, batch_size)`: fixed views, reproducible from a
  seed, independent of ``batch_size``.

Image ops are kornia's functional ops fed with per-sample parameter tensors. Presets and the
sources of their defaults are documented in `mnemoscope.augment.presets`.
"""

from mnemoscope.augment.banks import make_bank
from mnemoscope.augment.base import Augmentation
from mnemoscope.augment.mixup import mixup
from mnemoscope.augment.presets import get, names, parameters

__all__ = ["Augmentation", "get", "make_bank", "mixup", "names", "parameters"]
