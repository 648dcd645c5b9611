"""Feldman-style supervised memorization on the SSLMem splits (paper 002, appendix B.3).

Supervised f' (trained on S_S + S_C) and g' (on S_S + S_I), K seeds each; on each candidate

    mem_Feldman(x) = mean_k p_{f'_k}(y | x) - mean_k p_{g'_k}(y | x),

the softmax probability of the true label y on the clean image (Feldman 2020; Feldman & Zhang
2020 use the leave-one-out difference of exactly this probability). SSLMem is also computed on
the supervised encoders themselves (the classification head removed, i.e. the embedding), as
the paper does for fig. 8 and table 12. Rankings are compared with
``mnemoscope.analysis.stats.ranking_agreement`` (Kendall's tau, top-k overlap).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from mnemoscope.analysis.reliability import noise_ceiling
from mnemoscope.analysis.stats import ranking_agreement
from mnemoscope.measure.features import as_float_images
from mnemoscope.studies.sslmem.config import Config
from mnemoscope.training import TrainConfig


def supervised_config(config: Config, ssl_config: TrainConfig, seed: int) -> TrainConfig:
    """The supervised twin of an SSL run: same data subset and model (and planted set)."""
    base = ssl_config.model_dump(mode="json")
    feldman = config.feldman
    base.update(
        objective=feldman.objective.model_dump(mode="json"),
        augment=feldman.augment.model_dump(mode="json") if feldman.augment else None,
        epochs=feldman.epochs,
        seed=seed,
        save_epochs=[],
    )
    if feldman.optim is not None:
        base["optim"] = feldman.optim.model_dump(mode="json")
    return TrainConfig.model_validate(base)


@torch.no_grad()
def true_label_probability(
    networks: Sequence[nn.Module], images: torch.Tensor, labels: torch.Tensor, batch_size: int = 512
) -> np.ndarray:
    """p_k(y | x) for every network k and clean image x: float64 ``[K, N]`` (eval mode)."""
    result = np.empty((len(networks), len(images)))
    for k, network in enumerate(networks):
        mode = network.training
        network.eval()
        device = next(network.parameters()).device
        parts = []
        for start in range(0, len(images), batch_size):
            batch = as_float_images(images[start : start + batch_size].to(device))
            probabilities = network(batch).float().softmax(dim=1)
            target = labels[start : start + batch_size].to(device)
            parts.append(probabilities.gather(1, target[:, None]).squeeze(1).cpu())
        network.train(mode)
        result[k] = torch.cat(parts).double().numpy()
    return result


def feldman_scores(
    f_networks: Sequence[nn.Module],
    g_networks: Sequence[nn.Module],
    images: torch.Tensor,
    labels: torch.Tensor,
) -> np.ndarray:
    """mean_k p_{f'_k}(y | x) - mean_k p_{g'_k}(y | x) for every image."""
    p_f = true_label_probability(f_networks, images, labels)
    p_g = true_label_probability(g_networks, images, labels)
    return p_f.mean(axis=0) - p_g.mean(axis=0)


FELDMAN_PAIRS = (("sslmem", "feldman"), ("sslmem_supervised", "feldman"),
                 ("sslmem", "sslmem_supervised"))  # fmt: skip


def ranking_table(
    scores: pd.DataFrame,
    top_ks: Sequence[int],
    pairs: Sequence[tuple[str, str]] = FELDMAN_PAIRS,
    reliabilities: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Tables 12/13 for pairs of score columns of ``scores`` (by default sslmem,
    sslmem_supervised and feldman; ``compare`` passes every pair of its methods): columns a, b,
    k, overlap, tau, p_value (a is the reference ranking; the last row of a pair, k = n, is tau
    over all points).

    With ``reliabilities`` (column -> split-half reliability; Feldman's score has no view
    noise: 1) each row also gets reliability_a, reliability_b and, on the k = n row,
    tau_ceiling: the largest tau two scores this noisy can show
    (``analysis.reliability.noise_ceiling``; NaN for the top-k rows)."""
    frames = []
    for a, b in pairs:
        frame = ranking_agreement(scores[a].to_numpy(), scores[b].to_numpy(), top_ks)
        frame.insert(0, "b", b)
        frame.insert(0, "a", a)
        if reliabilities is not None:
            frame["reliability_a"] = reliabilities.get(a, float("nan"))
            frame["reliability_b"] = reliabilities.get(b, float("nan"))
            ceiling = noise_ceiling(frame["reliability_a"].iloc[0], frame["reliability_b"].iloc[0])
            frame["tau_ceiling"] = np.where(frame["k"] == len(scores), ceiling[1], np.nan)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
