"""Every per-image score of the atlas, read from the per-model values the study stored, with its
interval, reliability, agreement, detection of the planted kinds, and LiRA's membership
inference. Nothing here touches a network: ``mnemoscope rescore RUN_DIR`` reruns it on the arrays.

Each score (``Source``) is a per-model statistic ``values[k, n]`` (``[K, N, A]`` with A view
pairs) of a method's K models and the N candidates, read through that method's ``inside``
(``analysis.pool``):

* ``sslmem`` (paper 002 eq. 1-2): the alignment loss L_align(model k, x_n) at the headline tap,
  OUT mean minus IN mean (eq. 2 with f = the IN models, g = the OUT ones), normalized by its
  range over the ordinary candidates (appendix A); ``layermem_<tap>``: the same at every extra
  tap (Wang et al., NeurIPS 2024). With ``measure.center: [shared]`` each model's alignment is
  first centered on its mean over a sample of shared images.
* ``feldman`` (Feldman & Zhang, NeurIPS 2020, the subsampled estimator of Feldman 2020):
  p_k(y | x_n) on the clean image, IN mean minus OUT mean.
* ``lira_<variant>`` (Carlini et al., S&P 2022; ``analysis.membership``): model k's likelihood
  ratio Lambda_k(n) against Gaussians fitted on the models outside its pair (K - 2: the
  partner leaves too, so that both sides keep K/2 - 1 models), on the alignment loss
  (SSL; low = member) or the logit-scaled p(y | x) (supervised); per image, IN mean of Lambda
  minus OUT mean: the held-out estimate of the Jeffreys divergence between the image's IN and
  OUT distributions, i.e. how recognizable its membership is. Its reliability recomputes
  Lambda within each half of the models (``pool_reliability``'s ``transform``); its interval
  resamples the models' Lambdas as they are (the fit is not redone per resample).
* ``dejavu`` (Meehan et al. 2023, ``measure.dejavu``): whether model k's kNN guesses x_n's
  label from its periphery, IN mean minus OUT mean (IN models as A, OUT as B).
* learning dynamics, over the IN models alone (``side="in"``), from each model's recognition
  at the measured epochs (every view a sequence, averaged over views): ``first_learned``
  (epoch of the first recognition; never: censored one measurement past the last),
  ``forgetting`` (Toneva et al., ICLR 2019), ``low_confidence`` = 1 - confidence and
  ``variability`` (Swayamdipta et al., EMNLP 2020). Oriented so that larger = harder or more
  memorized, except variability (ambiguous images), which is kept as defined.

Per score, over the ordinary candidates: split-half reliability over the models
(``model_split_half``, Spearman-Brown to K with the effective length), over the views where
views enter (``view_split_half``), and ``reliability_both`` = rho_models + rho_views - 1, the
share of the variance that survives redrawing both the models and the views when their noises
add (a lower bound when they interact; = rho_models where no views enter); the models the
Spearman-Brown formula predicts for ``stats.target`` (``count_for``, rounded up to pairs); the
curve against k = 2, 4, ..., K models (``reliability_curve``). Agreement
(``score_agreement``): Spearman, Kendall and Pearson over the ordinary candidates, each beside
its noise ceiling from the two ``reliability_both``; the ceiling assumes the two scores' noises
independent, which holds across methods (other trainings on a membership draw of their own,
``pool``) but not within one (``same_models``: the same models, draw and views, whose noise
both scores share). Detection (``planted_detection``): AUROC
and TPR at ``stats.fpr`` of each planted kind against the ordinary candidates; the mislabeled
kind only for supervised methods (an SSL method never reads a label).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from mnemoscope.analysis import membership as lira_module
from mnemoscope.analysis.agreement import score_agreement
from mnemoscope.analysis.detection import planted_detection
from mnemoscope.analysis.dynamics import cartography, first_learned, forgetting_events
from mnemoscope.analysis.pool import leave_out_interval, leave_out_score
from mnemoscope.analysis.pool_reliability import (
    model_split_half,
    reliability_curve,
    view_split_half,
)
from mnemoscope.analysis.reliability import count_for
from mnemoscope.analysis.roc import tpr_at_fpr
from mnemoscope.measure.alignment import score_range
from mnemoscope.store import RunDir
from mnemoscope.studies.atlas.config import Config
from mnemoscope.studies.atlas.pool import ORDINARY, pair_groups

ROC_GRID = np.concatenate([[0.0], np.logspace(-5, 0, 300)])  # the stored ROC's FPRs (log axes)


@dataclass(frozen=True)
class Source:
    """One per-image score and the per-model values it reads (module docstring)."""

    name: str  # <method>_<score>
    method: str
    score: str
    values: np.ndarray  # [K, N] or [K, N, A]
    inside: np.ndarray  # [K, N]: the method's membership
    member_high: bool
    supervised: bool = False  # of a supervised method (else SSL)
    side: str = "both"
    transform: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = field(default=None)
    normalize: bool = False  # divide by the range over the ordinary candidates (appendix A)
    tap: str | None = None  # where an alignment score reads the encoder

    def per_model(self) -> np.ndarray:
        """The [K, N] values the score averages (views averaged; LiRA's ratios)."""
        values = self.values.mean(axis=2) if self.values.ndim == 3 else self.values
        return self.transform(values, self.inside) if self.transform is not None else values


def lira_ratios(
    values: np.ndarray, inside: np.ndarray, *, variant: str, statistic_high: bool
) -> np.ndarray:
    """LiRA's Lambda of every model as the target against the models outside its pair (the
    target's partner leaves the fit with it: both sides keep K/2 - 1 models for every image,
    ``analysis.membership``'s ``groups``; ``pool.pair_groups`` finds the pairs among the models
    given, a subset included)."""
    return lira_module.held_out_scores(values, inside, variant=variant.split("-")[0],
                                       fixed_variance=variant.endswith("-fixed"),
                                       member_high=statistic_high,
                                       groups=pair_groups(inside))  # fmt: skip


def sources(run_dir: RunDir, config: Config) -> list[Source]:
    """Every score the stored arrays of ``run_dir`` give, method by method."""
    found = []
    for name in config.method_trains():
        ssl = config.is_ssl(name)
        inside = run_dir.load_array(f"{name}-inside", mmap=False).astype(bool)
        if ssl:
            for tap in stored_taps(run_dir, name):
                align = run_dir.load_array(f"{name}-align-{tap}", mmap=False).astype(np.float64)
                if config.measure.center[0] == "shared":
                    shared = run_dir.load_array(f"{name}-align_shared-{tap}", mmap=False)
                    offset = np.asarray(shared, np.float64).mean(axis=(1, 2))  # per model
                    align = align - offset[:, None, None]
                score = "sslmem" if tap == config.measure.tap else f"layermem_{tap}"
                found.append(Source(f"{name}_{score}", name, score, align, inside, False,
                                    normalize=True, tap=tap))  # fmt: skip
                if score == "sslmem":
                    statistic = align.mean(axis=2)
            if run_dir.has_array(f"{name}-dejavu"):
                correct = run_dir.load_array(f"{name}-dejavu", mmap=False).astype(np.float64)
                found.append(Source(f"{name}_dejavu", name, "dejavu", correct, inside, True))
        else:
            probability = run_dir.load_array(f"{name}-probability", mmap=False)
            found.append(Source(f"{name}_feldman", name, "feldman", probability, inside, True,
                                supervised=True))  # fmt: skip
            statistic = lira_module.logit_scale(probability)
        for variant in config.membership.variants:
            ratios = partial(lira_ratios, variant=variant, statistic_high=not ssl)
            found.append(Source(f"{name}_lira_{variant}", name, f"lira_{variant}", statistic,
                                inside, True, supervised=not ssl, transform=ratios))  # fmt: skip
        if run_dir.has_array(f"{name}-correct"):
            for score, values in dynamics_values(run_dir, name).items():
                found.append(Source(f"{name}_{score}", name, score, values, inside, True,
                                    supervised=not ssl, side="in"))  # fmt: skip
    return found


def stored_taps(run_dir: RunDir, method: str) -> list[str]:
    """The taps whose alignment ``method`` stored, the headline tap first (``meta.json``)."""
    return list(run_dir.read_meta().get("atlas_taps", {}).get(method, []))


def dynamics_values(run_dir: RunDir, method: str) -> dict[str, np.ndarray]:
    """Per model and candidate [K, N], from the recognition ``correct`` / ``probability``
    [K, E, V, N] at the epochs ``epochs`` [E]: each (model, view) sequence over epochs scored,
    then averaged over the V views (module docstring)."""
    correct = run_dir.load_array(f"{method}-correct", mmap=False)
    probability = run_dir.load_array(f"{method}-confidence", mmap=False).astype(np.float64)
    epochs = run_dir.load_array(f"{method}-epochs", mmap=False).astype(np.float64)
    step = epochs[-1] - epochs[-2] if len(epochs) > 1 else 1.0
    at = np.append(epochs, epochs[-1] + step)  # index E: censored, one measurement past the end
    confidence, variability, _ = cartography(probability, correct, axis=1)
    return {
        "first_learned": at[first_learned(correct, axis=1)].mean(axis=1),
        "forgetting": forgetting_events(correct, axis=1).astype(np.float64).mean(axis=1),
        "low_confidence": 1 - confidence.mean(axis=1),
        "variability": variability.mean(axis=1),
    }


# -- per-image scores, intervals, reliability ----------------------------------------------------


@dataclass
class Atlas:
    """Everything ``score_atlas`` computes (the tables the study stores)."""

    scores: pd.DataFrame  # image x score, with intervals
    reliability: pd.DataFrame
    curves: pd.DataFrame
    agreement: pd.DataFrame
    detection: pd.DataFrame
    membership: pd.DataFrame
    roc: pd.DataFrame
    layers: pd.DataFrame
    values: dict[str, np.ndarray]  # score name -> [N] (normalized where the score is)
    sources: list[Source]


def score_atlas(run_dir: RunDir, config: Config, images: pd.DataFrame) -> Atlas:
    """The atlas of the arrays in ``run_dir`` (``images``: the ``atlas_images`` table)."""
    ordinary = (images["kind"] == ORDINARY).to_numpy()
    stats = config.stats
    columns: dict[str, np.ndarray] = {}  # the per-image table's score columns
    listed = sources(run_dir, config)
    values, raw, reliability_rows, curves = {}, {}, [], []
    for index, source in enumerate(listed):
        per_model, inside = source.per_model(), source.inside
        missing = source.transform is not None
        options = dict(member_high=source.member_high, side=source.side)
        score = leave_out_score(per_model, inside, missing=missing, **options)
        low, high = leave_out_interval(per_model, inside, missing=missing, **options,
                                       confidence=stats.confidence, n_resamples=stats.resamples,
                                       seed=index)  # fmt: skip
        scale = (score_range(score[np.isfinite(score) & ordinary]) or 1.0) if source.normalize \
            else 1.0  # fmt: skip
        columns[source.name] = score / scale
        columns[f"{source.name}_low"] = low / scale
        columns[f"{source.name}_high"] = high / scale
        values[source.name], raw[source.name] = score / scale, score
        reliability_rows.append(reliability_row(source, ordinary, config))
        curve = reliability_curve(source.values, inside, transform=source.transform,
                                  points=ordinary, draws=stats.draws, splits=stats.splits,
                                  seed=index, **options)  # fmt: skip
        curves.append(curve.assign(score=source.name, method=source.method))
    table = pd.concat([images.reset_index(drop=True), pd.DataFrame(columns)], axis=1)
    reliability = pd.DataFrame(reliability_rows)
    both = dict(zip(reliability["score"], reliability["reliability_both"], strict=True))
    agreement = score_agreement(values, both, k=stats.top_k, points=ordinary)
    # Two scores of one method read the same models (and views): their noise is shared, and
    # their agreement may pass a ceiling that assumes independent noise.
    method_of = {source.name: source.method for source in listed}
    agreement.insert(2, "same_models", agreement["a"].map(method_of)
                     == agreement["b"].map(method_of))  # fmt: skip
    detection = detect(values, images, listed, config)
    membership, roc = membership_tables(listed)
    layers = layer_table(raw, values, listed, ordinary,
                         run_dir.read_meta().get("atlas_layers", {}))  # fmt: skip
    return Atlas(table, reliability, pd.concat(curves, ignore_index=True)[
        ["score", "method", "k", "reliability", "sd", "low", "high", "draws", "predicted"]],
        agreement, detection, membership, roc, layers, values, listed)  # fmt: skip


def reliability_row(source: Source, ordinary: np.ndarray, config: Config) -> dict[str, Any]:
    """Reliability of one score over the models, the views and both; the models needed."""
    stats, inside = config.stats, source.inside
    options = dict(member_high=source.member_high, side=source.side, points=ordinary,
                   splits=stats.splits)  # fmt: skip
    models = model_split_half(source.values, inside, transform=source.transform, **options)
    views = math.nan, math.nan, 1
    if source.values.ndim == 3 and source.values.shape[2] >= 2:
        found = view_split_half(source.values, inside, **{k: v for k, v in options.items()
                                                          if k != "side"})  # fmt: skip
        views = found.half_r, found.reliability, found.units
    both = models.reliability if math.isnan(views[1]) else models.reliability + views[1] - 1
    needed = count_for(models.reliability, inside.shape[0], stats.target)
    needed = needed + needed % 2 if needed < 2**31 else None  # models come in pairs
    return {"score": source.name, "method": source.method, "kind": source.score,
            "models": inside.shape[0], "images": models.n, "half_r": models.half_r,
            "reliability": models.reliability, "views": views[2], "view_half_r": views[0],
            "view_reliability": views[1], "reliability_both": both, "target": stats.target,
            "models_for_target": needed}  # fmt: skip


def detect(values: dict[str, np.ndarray], images: pd.DataFrame, listed: list[Source],
           config: Config) -> pd.DataFrame:  # fmt: skip
    """AUROC and TPR at ``stats.fpr`` of every planted kind against the ordinary candidates,
    per score; an SSL method's score has no row for the mislabeled kind (it reads no label)."""
    stats = config.stats
    table = planted_detection(values, images["kind"].to_numpy(), fpr=stats.fpr,
                              confidence=stats.confidence, n_resamples=stats.resamples)  # fmt: skip
    supervised = {source.name for source in listed if source.supervised}
    keep = (table["kind"] != "mislabeled") | table["score"].isin(supervised)
    methods = {source.name: source.method for source in listed}
    kinds = {source.name: source.score for source in listed}
    table = table[keep].reset_index(drop=True)
    table.insert(1, "method", table["score"].map(methods))
    table.insert(2, "measure", table["score"].map(kinds))
    return table


def membership_tables(listed: list[Source]) -> tuple[pd.DataFrame, ...]:
    """LiRA per method and variant: AUC, TPR at 0.1 % and 1 % FPR over every (target model,
    candidate) pair, every model the target once (``analysis.membership.lira``); and each ROC
    at ``ROC_GRID``'s FPRs (the largest TPR at FPR <= each) for the log-axes figure."""
    rows, curves = [], []
    for source in listed:
        if source.transform is None:
            continue
        variant = source.score.removeprefix("lira_")
        attack = lira_module.lira(source.values, source.inside,
                                  variant=variant.split("-")[0],
                                  fixed_variance=variant.endswith("-fixed"),
                                  member_high=source.supervised,
                                  groups=pair_groups(source.inside))  # fmt: skip
        curve = attack.roc
        rows.append({"score": source.name, "method": source.method, "variant": variant,
                     "auc": curve.auc, "tpr_at_0.1%": attack.tpr_at[0.001],
                     "tpr_at_1%": attack.tpr_at[0.01], "members": curve.positives,
                     "non_members": curve.negatives})  # fmt: skip
        curves.append(pd.DataFrame({"score": source.name, "method": source.method,
                                    "variant": variant, "fpr": ROC_GRID,
                                    "tpr": [tpr_at_fpr(curve.fpr, curve.tpr, f)
                                            for f in ROC_GRID]}))  # fmt: skip
    columns = ["score", "method", "variant", "fpr", "tpr"]
    return pd.DataFrame(rows), (pd.concat(curves, ignore_index=True) if curves
                                else pd.DataFrame(columns=columns))  # fmt: skip


def layer_table(raw: dict[str, np.ndarray], normalized: dict[str, np.ndarray],
                listed: list[Source], ordinary: np.ndarray,
                layers: dict[str, dict[str, list]]) -> pd.DataFrame:  # fmt: skip
    """LayerMem (Wang et al., NeurIPS 2024) per SSL method and tap, in the network's order:
    the mean normalized score of the ordinary candidates (``layermem``, each tap divided by its
    own range), its raw mean (``layermem_raw``: distances between unit vectors, comparable
    across layers) and Delta-LayerMem, the change of each from the tap before
    (``sslmem.layers.deltas``). ``layers``: method -> tap -> [layer, depth]."""
    from mnemoscope.studies.sslmem.layers import deltas

    rows = []
    for source in listed:
        if source.tap is None:
            continue
        layer, depth = layers[source.method][source.tap]
        rows.append({"method": source.method, "tap": source.tap, "layer": layer, "depth": depth,
                     "score": source.name,
                     "layermem": float(np.nanmean(normalized[source.name][ordinary])),
                     "layermem_raw": float(np.nanmean(raw[source.name][ordinary]))})  # fmt: skip
    columns = ["method", "tap", "layer", "depth", "score", "layermem", "layermem_raw",
               "delta_layermem", "delta_layermem_raw"]  # fmt: skip
    if not rows:
        return pd.DataFrame(columns=columns)
    table = pd.DataFrame(rows).sort_values(["method", "depth"], kind="stable")
    parts = []
    for _, part in table.groupby("method", sort=False):
        part = part.copy()
        part["delta_layermem"] = deltas(part["depth"], part["layermem"])
        part["delta_layermem_raw"] = deltas(part["depth"], part["layermem_raw"])
        parts.append(part)
    return pd.concat(parts, ignore_index=True)[columns]
