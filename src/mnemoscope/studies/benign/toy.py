"""The toy model of paper 003, appendix E (fig. 14): capacity decides whether memorization is
benign.

Data: C classes; the first d1 of d coordinates carry the class, the rest are noise,

    x[:d1] | z = k ~ N(mu_k, Sigma1),  x[d1:] ~ N(0, Sigma2),  Sigma2 = Sigma3 = 10 Sigma1 = s^2 I,

with random centres mu_k ~ N(0, c^2 I). Augmentations add noise to the noise coordinates only:
x_bar = x + a, a[:d1] = 0, a[d1:] ~ N(0, Sigma3), so an invariant encoder must ignore them.

Model: a linear encoder h_W(x) = W x (W in R^{d x d}) and the nearest-prototype projector

    g_V(h) = sum_i [ (1 / ||h - v_i||) / sum_j (1 / ||h - v_j||) ] l_i,

K prototypes v_i with fixed random one-hot labels l_i: it can memorize about K points, its
capacity. Each of n samples gets a random label, shared by its B fixed augmentations; W and V
are trained on the n x B points (MSE to the one-hot label, full-batch Adam). The encoder is then
probed by kNN (k = 20, cosine) for the true class: fitted on fresh labelled points, evaluated on
fresh test points (the paper does not say what the probe is fitted on; fresh points keep it
independent of n). When n x B is below the capacity the labels can be memorized point by point
and W learns nothing useful; above it, fitting the labels requires W to drop the noise
coordinates, and the class structure shows.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from mnemoscope.environment import torch_threads
from mnemoscope.measure.probes import knn_accuracy
from mnemoscope.studies.benign.config import ToySpec


def _generator(*key: int) -> torch.Generator:
    state = np.random.SeedSequence(list(key)).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator().manual_seed(int(state))


def sample_points(
    count: int, centres: torch.Tensor, spec: ToySpec, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` points of the mixture: (x [count, d], true classes [count])."""
    classes, class_dim = centres.shape
    truth = torch.randint(classes, (count,), generator=generator)
    points = torch.randn(count, spec.dim, generator=generator) * spec.sigma
    within = torch.randn(count, class_dim, generator=generator) * (spec.sigma / 10**0.5)
    points[:, :class_dim] = centres[truth] + within
    return points, truth


def augment_points(
    points: torch.Tensor, views: int, spec: ToySpec, generator: torch.Generator
) -> torch.Tensor:
    """``[n, views, d]``: each point plus Sigma3 noise on its noise coordinates only."""
    noise = torch.randn(len(points), views, spec.dim, generator=generator) * spec.sigma
    noise[..., : spec.class_dim] = 0
    return points[:, None, :] + noise


def prototype_projector(
    embedded: torch.Tensor, prototypes: torch.Tensor, prototype_labels: torch.Tensor
) -> torch.Tensor:
    """g_V: the inverse-distance weighted mean of the prototypes' one-hot labels."""
    weights = 1.0 / torch.cdist(embedded, prototypes).clamp_min(1e-8)
    return (weights / weights.sum(dim=1, keepdim=True)) @ prototype_labels


@torch_threads(1)
def train_toy(samples: int, views: int, spec: ToySpec, seed: int) -> dict[str, float]:
    """Train on ``samples`` points x ``views`` augmentations with random labels; probe W.

    The problem (centres, probe and test points) depends on ``seed`` only, so every (n, B) cell
    of a seed is measured on the same problem; the training draws depend on (seed, n, B).
    """
    problem = _generator(seed, 0)
    centres = torch.randn(spec.classes, spec.class_dim, generator=problem) * spec.centre_scale
    probe_x, probe_y = sample_points(spec.probe_points, centres, spec, problem)
    test_x, test_y = sample_points(spec.test_points, centres, spec, problem)

    draws = _generator(seed, 1, samples, views)
    points, _ = sample_points(samples, centres, spec, draws)
    random_labels = torch.randint(spec.classes, (samples,), generator=draws)
    inputs = augment_points(points, views, spec, draws).reshape(samples * views, spec.dim)
    targets = F.one_hot(random_labels, spec.classes).float().repeat_interleave(views, dim=0)
    encoder = (torch.randn(spec.dim, spec.dim, generator=draws) / spec.dim**0.5).requires_grad_()
    prototypes = torch.randn(spec.prototypes, spec.dim, generator=draws).requires_grad_()
    prototype_labels = F.one_hot(
        torch.randint(spec.classes, (spec.prototypes,), generator=draws), spec.classes
    ).float()

    def probe() -> float:
        with torch.no_grad():
            return knn_accuracy(probe_x @ encoder.T, probe_y, test_x @ encoder.T, test_y, k=spec.k)

    init = probe()
    optimizer = torch.optim.Adam([encoder, prototypes], lr=spec.lr)
    for _ in range(spec.steps):
        output = prototype_projector(inputs @ encoder.T, prototypes, prototype_labels)
        loss = (output - targets).pow(2).sum(dim=1).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        output = prototype_projector(inputs @ encoder.T, prototypes, prototype_labels)
        fit = (output.argmax(dim=1) == targets.argmax(dim=1)).float().mean().item()
        final_loss = (output - targets).pow(2).sum(dim=1).mean().item()
    return {"test_knn": probe(), "init_knn": init, "fit_accuracy": fit, "loss": final_loss}


def toy_grid(spec: ToySpec, done: Callable[[], None] | None = None) -> pd.DataFrame:
    """One row per (samples n, augmentations B, seed): test_knn, init_knn, fit_accuracy, loss;
    ``done()`` is called after each cell (progress)."""
    rows = []
    for seed in range(spec.seed, spec.seed + spec.repetitions):
        for samples in spec.samples:
            for views in spec.augmentations:
                cell = train_toy(samples, views, spec, seed)
                rows.append({"samples": samples, "augmentations": views, "seed": seed, **cell})
                if done is not None:
                    done()
    return pd.DataFrame(rows)
