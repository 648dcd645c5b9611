"""Activation maximization per encoder stage (paper 001 appendix C.2, fig. 7; Erhan et al. 2009).

For a randomly chosen channel c of stage s, an image x is found by gradient ascent in pixel
space on the channel's mean activation,

    x* = argmax_{||x - 1/2|| = rho}  mean_{h,w} a_{s,c}(x)_{h,w},

with Erhan et al.'s norm constraint (each step: x += eta * g / rms(g), then x - 1/2 is rescaled
to the norm rho, here an rms of ``RMS_RADIUS`` per pixel around mid-grey). For display each
image is standardized to zero mean and unit variance and squashed by the logistic function,
sigma(y) = 1 / (1 + e^-y), into [0, 1] (appendix C.2).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from mnemoscope.models import Network

RMS_RADIUS = 0.25  # rms distance of the image from mid-grey (pixel units in [0, 1])


def stage_names(network: Network) -> list[str]:
    """The encoder stages (taps ``layer1``..``layer4``) in computation order."""
    return [name for name in network.encoder.tap_names if name.startswith("layer")]


def stage_activation(network: Network, images: Tensor, stage: str) -> Tensor:
    """The un-flattened output of ``stage`` ([B, C, H, W] for convnets, [B, T, D] for ViTs)."""
    for name, activation in network.encoder.forward_taps(network.normalize(images)):
        if name == stage:
            return activation
    raise ValueError(f"stage {stage!r} is not a tap of {network.arch!r}")


def channel_means(activation: Tensor) -> Tensor:
    """Mean activation of every channel: [B, C, ...] -> [B, C] (ViT tokens: [B, T, D] -> [B, D])."""
    if activation.ndim == 3:  # tokens: channels are the last dimension
        return activation.mean(dim=1)
    return activation.flatten(2).mean(dim=2)


def _project(images: Tensor) -> Tensor:
    """Rescale each image's deviation from mid-grey to an rms of ``RMS_RADIUS``."""
    deviation = images - 0.5
    rms = deviation.flatten(1).pow(2).mean(dim=1).sqrt().clamp_min(1e-12)
    return 0.5 + deviation * (RMS_RADIUS / rms).view(-1, *[1] * (images.ndim - 1))


def squash(images: Tensor) -> Tensor:
    """Per-image standardization, then the logistic function into [0, 1] (appendix C.2)."""
    flat = images.flatten(1)
    standardized = (flat - flat.mean(dim=1, keepdim=True)) / flat.std(
        dim=1, keepdim=True
    ).clamp_min(1e-12)
    return torch.sigmoid(standardized).view_as(images)


def maximize_activations(
    network: Network,
    image_shape: tuple[int, int, int],
    channels: int,
    steps: int,
    step_size: float,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Images maximizing ``channels`` random channels of every stage.

    Returns (images float16 [stages, channels, C, H, W] in [0, 1] after ``squash``, chosen
    channel indices int64 [stages, channels]). The network is left in eval mode, unchanged.
    """
    generator = torch.Generator().manual_seed(seed)
    device = next(network.parameters()).device
    was_training = network.training
    network.eval()
    images, chosen = [], []
    try:
        for stage in stage_names(network):
            with torch.no_grad():
                probe = torch.full((1, *image_shape), 0.5, device=device)
                width = channel_means(stage_activation(network, probe, stage)).shape[1]
            picked = torch.randperm(width, generator=generator)[: min(channels, width)]
            start = 0.5 + RMS_RADIUS * torch.randn(len(picked), *image_shape, generator=generator)
            x = _project(start).to(device)
            index = picked.to(device)
            rows = torch.arange(len(picked), device=device)
            for _ in range(steps):
                x.requires_grad_(True)
                with torch.enable_grad():
                    means = channel_means(stage_activation(network, x, stage))
                    objective = means[rows, index].sum()  # images are independent in eval mode
                    (gradient,) = torch.autograd.grad(objective, x)
                with torch.no_grad():
                    rms = gradient.flatten(1).pow(2).mean(dim=1).sqrt().clamp_min(1e-12)
                    step = gradient / rms.view(-1, *[1] * (x.ndim - 1))
                    x = _project(x.detach() + step_size * step)
            images.append(squash(x.detach()).cpu())
            chosen.append(picked)
    finally:
        network.train(was_training)
    # stages may have fewer channels than asked: pad with NaN-free repeats of the last ones
    count = max(len(c) for c in chosen)
    images = [torch.cat([i, i[-1:].expand(count - len(i), *i.shape[1:])]) for i in images]
    chosen = [torch.cat([c, c[-1:].expand(count - len(c))]) for c in chosen]
    return torch.stack(images).half().numpy(), torch.stack(chosen).numpy()
