"""The alignment regularizer of paper 002 (section 4.4, eq. 3), over a mini-batch.

    L_total(f, x) = (1 - lambda) L_SSL(f, x) - lambda E_{x', x'' ~ Aug(x)} [ d(f(x'), f(x'')) ]

The second term rewards distance between the representations of two augmentations of the same
image: minimizing L_total "penalizes representations of a data point and its augmentation set
for being too close", so a larger lambda limits alignment and, the paper finds (fig. 4), both
memorization and linear-probe accuracy. As in the paper's implementation, d is the l2 distance,
the expectation is taken over the two views of every image of the mini-batch (the same views
the SSL loss uses; MAE draws two extra unmasked views), and f is the representation itself (the
encoder, not the projector or the decoder): by default the tap SSLMem scores, the token map
``tokens`` of a ViT or the last feature map ``layer4`` of a convnet (``alignment_tap="auto"``).

Exactly what is implemented, with r = f(x') and r' = f(x'') flattened to vectors:

    d_b = || n(r_b) - n(r'_b) ||_2,   n(v) = v / ||v||_2   (``normalize=True``, the default)
    L_total = (1 - lambda) L_SSL - lambda mean_b d_b

The normalization is ours: the paper does not say whether d reads raw or normalized
representations. Normalized, d is the distance SSLMem measures (appendix A normalizes before
taking it) and is bounded (d <= 2); raw, the term is unbounded below (scaling f up lowers the
loss without limit). ``normalize=False`` gives the raw l2 distance.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def view_distances(r0: torch.Tensor, r1: torch.Tensor, normalize: bool = True) -> torch.Tensor:
    """d_b for every image b of the batch, in fp32: ``[B]``."""
    r0, r1 = r0.flatten(1).float(), r1.flatten(1).float()
    if normalize:
        r0, r1 = F.normalize(r0, dim=1), F.normalize(r1, dim=1)
    return (r0 - r1).norm(dim=1)


def regularized_loss(
    ssl_loss: torch.Tensor,
    r0: torch.Tensor,
    r1: torch.Tensor,
    weight: float,
    normalize: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(L_total, mean_b d_b) for lambda = ``weight`` in [0, 1] (eq. 3, module docstring)."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"alignment lambda {weight} is outside [0, 1]")
    distance = view_distances(r0, r1, normalize).mean()
    return (1.0 - weight) * ssl_loss - weight * distance, distance
