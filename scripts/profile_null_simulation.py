"""Which null fits averaged memorization profiles of equally hard images? (paper 001, section 4.1)

Simulates N networks x M views x |X| images at the paper's scale (30 x 10 x 1,000) where every
image is equally hard (recognized with probability p by every network) and the M views of an
image agree within a network (a network that memorized an image recognizes its views), then
measures the averaged profile's MAE against:

* Bin(N M, p^) / (N M): every view of every network an independent trial (mnemoscope's former
  default), which the agreeing views are not;
* Bin(N, p^) / N: the paper authors' choice (T = N);
* the network-block permutation null (images shuffled within each network, views kept together).

A second case gives the images two levels of hardness (half at p - d, half at p + d, shared by
every network): a null that fits the first case must reject this one.

    python scripts/profile_null_simulation.py [--seed 0]

Its output is what README quotes.
"""

from __future__ import annotations

import argparse

import numpy as np

from mnemoscope.analysis.profiles import binomial_mae, network_block_null


def simulate(
    hardness: np.ndarray, networks: int, views: int, agreement: float, rng: np.random.Generator
) -> np.ndarray:
    """Indicators [N, M, X]: each network recognizes image x with probability hardness[x]; with
    probability ``agreement`` a view copies the network's verdict on the image, otherwise it is
    an independent draw with the same probability."""
    verdict = rng.random((networks, 1, hardness.size)) < hardness
    independent = rng.random((networks, views, hardness.size)) < hardness
    copies = rng.random((networks, views, hardness.size)) < agreement
    return np.where(copies, verdict, independent).astype(np.uint8)


def distances(indicators: np.ndarray, seed: int) -> dict[str, tuple[float, float]]:
    networks, views, _ = indicators.shape
    values = indicators.mean(axis=(0, 1))
    null = network_block_null(indicators.sum(axis=1), networks * views, permutations=100, seed=seed)
    return {
        "Bin(N x M)": binomial_mae(values, networks * views, draws=10, seed=seed, ddof=0),
        "Bin(N)": binomial_mae(values, networks, draws=10, seed=seed, ddof=0),
        "network-block null": (null.mae, null.mae_sd),
        "network-block chi-square p": (null.p_value, float("nan")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--networks", type=int, default=30)
    parser.add_argument("--views", type=int, default=10)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--p", type=float, default=0.5)
    args = parser.parse_args()
    # not the stream of the nulls (seeded with args.seed): a shared stream would correlate them
    rng = np.random.default_rng([args.seed, 1])
    equal = np.full(args.images, args.p)
    two_levels = np.where(np.arange(args.images) < args.images // 2, args.p - 0.2, args.p + 0.2)
    print(f"N = {args.networks} networks, M = {args.views} views, |X| = {args.images} images, "
          f"p = {args.p}, seed {args.seed}; MAE of the averaged profile (mean +/- sd over 10 "
          "binomial draws or 100 permutations)")  # fmt: skip
    cases = [
        ("equally hard, views agree within a network", equal, 1.0),
        ("equally hard, views agree half the time", equal, 0.5),
        ("equally hard, independent views", equal, 0.0),
        ("two levels of hardness (p -/+ 0.2), views agree", two_levels, 1.0),
    ]
    for title, hardness, agreement in cases:
        indicators = simulate(hardness, args.networks, args.views, agreement, rng)
        print(f"\n{title}:")
        for name, (mean, sd) in distances(indicators, args.seed).items():
            spread = "" if np.isnan(sd) else f" +/- {sd:.4f}"
            print(f"  {name:28s} {mean:.4f}{spread}")


if __name__ == "__main__":
    main()
