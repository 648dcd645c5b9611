"""Simulated model pools shared by the pool, reliability and membership tests."""

import numpy as np


def balanced_inside(models: int, images: int, generator: np.random.Generator) -> np.ndarray:
    """``[K, N]``: every image IN for exactly K // 2 models, chosen at random (each model then
    holds about half of the images, as in the atlas design)."""
    inside = np.zeros((models, images), dtype=bool)
    chosen = np.argsort(generator.random((models, images)), axis=0)[: models // 2]
    np.put_along_axis(inside, chosen, True, axis=0)
    return inside


def pool(models: int, images: int, noise: float, seed: int, views: int = 0):
    """(values, inside, signal): the statistic of model k on image n is signal_n when k trained
    on n, 0 otherwise, plus independent noise of sd ``noise`` per model (and view): the
    leave-out score (member_high) estimates signal_n ~ N(0, 1)."""
    generator = np.random.default_rng(seed)
    inside = balanced_inside(models, images, generator)
    signal = generator.standard_normal(images)
    shape = (models, images) + ((views,) if views else ())
    mean = inside * signal
    values = (mean[..., None] if views else mean) + noise * generator.standard_normal(shape)
    return values, inside, signal
