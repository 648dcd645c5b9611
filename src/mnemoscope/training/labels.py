"""Training labels for classification objectives: true, random, noisy, or one class per sample.

Random labels are a function of (label seed, position in the full training set) only, so every
network of a study, and every subset of the training set, sees the same label for the same image
(papers 001 and 003 fix the random labelling once and train all networks on it).
"""

from __future__ import annotations

import torch


def random_labels(
    true_labels: torch.Tensor,
    num_classes: int,
    *,
    noise: float = 1.0,
    seed: int = 0,
) -> torch.Tensor:
    """Labels with a fraction ``noise`` of them replaced by uniform draws from ``num_classes``.

    The replaced examples are the first ``round(noise * N)`` of a seeded permutation, so the
    noisy set of a smaller fraction is contained in that of a larger one (fig 11/13 of paper 003
    compare fractions on nested sets). A replaced label is drawn uniformly from all classes, the
    true one included, as in Zhang et al. (2017): at noise 1 about 1/C of labels stay correct.
    """
    if not 0.0 <= noise <= 1.0:
        raise ValueError(f"label noise {noise} is outside [0, 1]")
    if num_classes < 2:
        raise ValueError(f"num_classes {num_classes} < 2: classification needs two classes")
    labels = true_labels.clone().long()
    count = len(labels)
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(count, generator=generator)
    draws = torch.randint(num_classes, (count,), generator=generator)
    noisy = order[: round(noise * count)]
    labels[noisy] = draws[noisy]
    return labels


def per_sample_labels(count: int) -> torch.Tensor:
    """Every example its own class: the labels of instance discrimination (paper 003 fig 9)."""
    return torch.arange(count)
