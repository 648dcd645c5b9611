"""Input normalization stored inside the network.

This is the one place in mnemoscope where images are normalized: data pipelines hand the
network float images in [0, 1], and the network subtracts ``mean`` and divides by ``std``
as its first step. Keeping the statistics as buffers puts them in every ``state_dict``, so
a checkpoint can never be evaluated with the wrong normalization.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn


class InputNormalization(nn.Module):
    """``(x - mean) / std`` per channel, with ``mean`` and ``std`` as persistent buffers."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        if len(mean) != len(std):
            raise ValueError(f"mean {list(mean)} and std {list(std)} differ in length")
        if any(s <= 0 for s in std):
            raise ValueError(f"std must be positive, got {list(std)}")
        # Shaped [1, C, 1, 1] to broadcast over [B, C, H, W].
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        if not x.is_floating_point():
            # uint8 images would be silently promoted and normalized on the wrong scale.
            raise TypeError(f"expected float images in [0, 1], got dtype {x.dtype}")
        if x.ndim != 4 or x.shape[1] != self.mean.shape[1]:
            # [B, 1, H, W] against 3-channel statistics would broadcast silently to 3 channels.
            raise ValueError(
                f"expected images [B, {self.mean.shape[1]}, H, W] (the network's in_channels = "
                f"{self.mean.shape[1]}), got {list(x.shape)}"
            )
        return (x - self.mean) / self.std

    def extra_repr(self) -> str:
        return f"mean={self.mean.flatten().tolist()}, std={self.std.flatten().tolist()}"
