"""Shared helpers for the augment tests: small structured image batches and seeded generators."""

import torch


def make_images(n: int, channels: int, size: int, seed: int = 0) -> torch.Tensor:
    """uint8 [n, channels, size, size] images with structure (a gradient plus noise)."""
    g = torch.Generator().manual_seed(seed)
    ramp = torch.linspace(0, 200, size).view(1, 1, 1, size)
    noise = torch.randint(0, 56, (n, channels, size, size), generator=g)
    return (ramp + noise).to(torch.uint8)


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)
