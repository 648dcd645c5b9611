"""The audit's pool: the ordinary images every model trains on, the canaries, and which model
trains on which canary, all from the atlas (``studies.atlas.pool``).

Layout: the dataset's training split is cut by ``data.split`` (class-stratified, ``pool.seed``)
into the shared part (every model) and the originals of the mislabeled canaries (used nowhere
else); the canaries follow, made by the atlas's ``plant`` with no ordinary candidates, so that
the candidates of the layout are the canaries alone. Membership: the atlas's
``membership`` (complementary halves per pair of models, stratified by kind, a draw per
method), the same halves at every epsilon of a method, so that its pools differ in the noise
alone.
"""

from __future__ import annotations

import numpy as np
import torch

from mnemoscope import data
from mnemoscope.studies.atlas.pool import (
    Layout,
    PoolRecipe,
    last_layout,
    membership,
    originals_needed,
    plant,
)
from mnemoscope.studies.privacy_audit.config import CanaryConfig, PoolConfig


def make_layout(source: data.DatasetBundle, pool: PoolConfig, canaries: CanaryConfig) -> Layout:
    """The layout of the module docstring, deterministic in ``pool.seed`` and
    ``canaries.seed``; ValueError naming the sizes when the dataset is too small."""
    planted = canaries.planted()
    labels = source.train.labels
    needed = originals_needed(planted)
    if pool.shared + needed > len(labels):
        raise ValueError(
            f"pool.shared + the mislabeled canaries' originals = {pool.shared} + {needed} "
            f"exceed the {len(labels)} training images of {source.name!r}: lower pool.shared "
            "or canaries.per_kind"
        )
    sizes = {"shared": pool.shared, **({"originals": needed} if needed else {})}
    parts = data.split(len(labels), sizes, seed=pool.seed,
                       stratify_labels=labels if pool.stratify else None)  # fmt: skip
    nothing = torch.zeros(0, dtype=torch.int64)
    return plant(source, parts["shared"], nothing, parts.get("originals", nothing), planted, None)


def cached_layout(source: data.DatasetBundle, pool: PoolConfig, canaries: CanaryConfig) -> Layout:
    """``make_layout``, the last result kept (``atlas.pool.last_layout``)."""
    described = ["privacy-audit", pool.model_dump(mode="json", exclude={"models"}),
                 canaries.model_dump(mode="json")]  # fmt: skip
    return last_layout(source, described, lambda: make_layout(source, pool, canaries))


def memberships(kind: np.ndarray, pool: PoolConfig, methods: list[str]) -> dict[str, np.ndarray]:
    """Each method's ``inside`` [K, N] over the canaries (``atlas.pool.membership``)."""
    return {name: membership(kind, pool.models, pool.seed, name) for name in methods}


class AuditRecipe(PoolRecipe):
    """The training set of every audited model: the dataset with the canaries appended
    (``make_layout``); raising K reuses every run already trained (``PoolRecipe``)."""

    pool: PoolConfig
    canaries: CanaryConfig

    def build(self, source: data.DatasetBundle) -> data.DatasetBundle:
        return cached_layout(source, self.pool, self.canaries).bundle
