"""The data partition of paper 002 (section 4): S_S, S_C, S_I from the training set, S_E from the
test set, all drawn with ``mnemoscope.data.split`` from one seed.

f trains on S_S + S_C and g on S_S + S_I; S_E is seen by neither. The scored points are all of
S_C, S_I and S_E and a sample of S_S of the same size as S_C (the paper scores 5,000 per subset).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mnemoscope import data
from mnemoscope.studies.sslmem.config import SplitConfig

SUBSETS = ("S_C", "S_I", "S_S", "S_E")  # the order of the scored points everywhere


@dataclass(frozen=True)
class Splits:
    """Index tensors (sorted int64): train positions for S_S, S_C, S_I, test positions for S_E.

    ``scored_shared`` is the sample of S_S that is scored; ``unused`` the training positions in
    no part (where planted inverted images take their originals from).
    """

    shared: torch.Tensor
    candidates: torch.Tensor
    independent: torch.Tensor
    extra: torch.Tensor
    scored_shared: torch.Tensor
    unused: torch.Tensor


def make_splits(
    bundle: data.DatasetBundle, config: SplitConfig, exclude_class: int | None = None
) -> Splits:
    """The partition of ``bundle``; images of ``exclude_class`` (a planted held-out class) are
    left out of every part. Deterministic in ``config.seed``."""
    train_pool = _pool(bundle.train.labels, exclude_class)
    test_pool = _pool(bundle.test.labels, exclude_class)
    sizes = {"S_S": config.shared, "S_C": config.candidates, "S_I": config.independent}
    stratify = bundle.train.labels[train_pool] if config.stratify else None
    parts = data.split(train_pool, sizes, seed=config.seed, stratify_labels=stratify)
    candidates = parts["S_C"]
    extra_count = config.extra or len(candidates)
    if extra_count > len(test_pool):
        raise ValueError(
            f"splits.extra = {extra_count} but the test set has only {len(test_pool)} usable "
            "images: lower splits.extra or splits.candidates"
        )
    test_stratify = bundle.test.labels[test_pool] if config.stratify else None
    extra = data.split(test_pool, {"S_E": extra_count}, seed=config.seed + 1,
                       stratify_labels=test_stratify)["S_E"]  # fmt: skip
    shared = parts["S_S"]
    scored_count = min(config.scored_shared or len(candidates), len(shared))
    shared_stratify = bundle.train.labels[shared] if config.stratify else None
    scored_shared = data.split(shared, {"scored": scored_count}, seed=config.seed + 2,
                               stratify_labels=shared_stratify)["scored"]  # fmt: skip
    used = torch.cat([shared, candidates, parts["S_I"]])
    unused = train_pool[~torch.isin(train_pool, used)]
    return Splits(shared, candidates, parts["S_I"], extra, scored_shared, unused)


def _pool(labels: torch.Tensor, exclude_class: int | None) -> torch.Tensor:
    positions = torch.arange(len(labels))
    if exclude_class is None:
        return positions
    return positions[labels != exclude_class]
