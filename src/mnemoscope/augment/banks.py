"""Fixed augmentation banks: ``views`` precomputed views of every image, reproducible from a seed.

Paper 001 fixes augmentations to study image-augmentation pairs (section 3, M = 10 views), and
paper 002 averages its score over a fixed set of augmented views: both need the same views on
every run and every machine.

Reproducibility without depending on how the work is chunked: images are grouped in fixed
blocks of `BLOCK` images, and each block draws the parameters of its ``BLOCK x views`` views from
its own generator, seeded from ``(seed, block index)``. Chunks handed to the augmentation are
whole blocks, so ``batch_size`` changes the memory used, never the views. The last block always
draws a full block of parameters, so the views of image i do not depend on how many images follow
it either (a bank of ``images[:n]`` is a prefix of the bank of ``images``).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from mnemoscope.augment.base import Augmentation, Params, check_images

BLOCK = 16  # images per parameter block: small, so chunks can be small; sampling is cheap


def block_generator(seed: int, block: int) -> torch.Generator:
    """A generator for block ``block`` of the bank ``seed``: a hash of both, via SeedSequence."""
    state = np.random.SeedSequence([seed, block]).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator().manual_seed(int(state))


def make_bank(
    images: Tensor, augmentation: Augmentation, views: int, seed: int, batch_size: int = 1024
) -> Tensor:
    """``views`` augmented views of every image: uint8 ``[N, views, C, height, width]`` on the CPU.

    Args:
        images: [N, C, H, W] uint8 or float in [0, 1], any device (the work runs there).
        augmentation: from `mnemoscope.augment.get`.
        views: views per image (>= 1).
        seed: the bank's seed (>= 0): same seed, same bank, whatever ``batch_size`` or device.
        batch_size: views computed per call, rounded down to whole blocks of ``BLOCK`` images
            (at least one block): bounds the memory in use, never changes the views.

    Returns:
        uint8 0..255 (``bank.float() / 255`` restores float views, error <= 1/510): a quarter of
        float32's memory, and the 8-bit precision the images came with. Kept on the CPU so banks
        of whole datasets fit.
    """
    check_images(images)
    for name, value, low in (("views", views, 1), ("seed", seed, 0), ("batch_size", batch_size, 1)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name}={value!r} is invalid: need an integer >= {low}")

    n, shape = images.shape[0], tuple(images.shape[1:])
    blocks_per_chunk = max(1, batch_size // (BLOCK * views))
    bank = torch.empty(n, views, shape[0], *augmentation.size, dtype=torch.uint8)
    for first_block in range(0, math.ceil(n / BLOCK), blocks_per_chunk):
        start = first_block * BLOCK
        stop = min(n, start + blocks_per_chunk * BLOCK)
        params = _chunk_params(augmentation, shape, views, seed, first_block, stop - start)
        # view v of image i is row i * views + v of the chunk's batch
        chunk = images[start:stop].repeat_interleave(views, dim=0)
        out = augmentation.apply(chunk, params)
        quantized = out.mul_(255).round_().to(torch.uint8)
        bank[start:stop] = quantized.view(stop - start, views, *out.shape[1:]).cpu()
    return bank


def _chunk_params(
    augmentation: Augmentation,
    shape: tuple[int, ...],
    views: int,
    seed: int,
    first_block: int,
    count: int,
) -> list[Params]:
    """Parameters for ``count`` images starting at block ``first_block``, block by block."""
    per_block = []
    for block in range(first_block, first_block + math.ceil(count / BLOCK)):
        # always a full block of draws, trimmed below: the last block draws like the others
        per_block.append(augmentation.sample(BLOCK * views, shape, block_generator(seed, block)))
    stages = zip(*per_block, strict=True)
    joined = [{key: torch.cat([p[key] for p in stage]) for key in stage[0]} for stage in stages]
    return [{key: value[: count * views] for key, value in stage.items()} for stage in joined]
