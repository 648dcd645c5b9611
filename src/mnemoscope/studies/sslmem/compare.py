"""Paper 002 table 1, fig. 4 and table 13: the study's training varied on the same splits.

``compare`` in the config names further trainings (``Config.variant_trains``): other SSL
methods or architectures, and the alignment regularizer of eq. 3 (``compare.lambdas``),

    L_total(f, x) = (1 - lambda) L_SSL(f, x) - lambda E_{x', x'' ~ Aug(x)} [ d(f(x'), f(x'')) ],

which is ``TrainConfig.alignment_lambda``. Each variant trains K encoders f on S_S + S_C and K
encoders g on S_S + S_I with the study's seeds, splits and planted images, through the engine
under ``out/runs/`` (a re-run, or a variant equal to the base, reuses those trainings), and is
scored exactly as the base: every scored point, the same views (common random numbers: views
are drawn per position among the scored points, and every variant scores the same points in
the same order), pairs, distance, tap (``auto`` resolves per architecture: a ViT's token map,
a convnet's last feature map) and estimates. The measurement augmentation is
``measure.augment`` if set, else the variant's own training augmentation (section 4), as for
the base.

* ``methods_table`` (table 1): per training, the mean normalized SSLMem of the ordinary
  candidates, its spread over seeds, the mean raw score and the probe accuracy of f;
* ``agreement_table`` (tables 12/13): Kendall's tau and top-k overlap of the S_C rankings of
  every pair of trainings, and of the supervised pair's SSLMem and Feldman's score if enabled.

This module drives ``study``'s helpers (``encoder_config``, ``measure``, ...) over variants;
``study.run`` calls it, so the two import each other (at call time only, never at load time).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
import torch

from mnemoscope.analysis import reliability
from mnemoscope.measure.alignment import memorization_score
from mnemoscope.studies.config import StudyTrain
from mnemoscope.studies.sslmem import feldman, study, tables
from mnemoscope.studies.sslmem.config import Config
from mnemoscope.studies.sslmem.planted import Planted
from mnemoscope.studies.sslmem.splits import Splits
from mnemoscope.training import TrainConfig, TrainResult

# The supervised pair's score vectors in the agreement table (spaces: never a variant's name).
SUPERVISED_COLUMNS = {"sslmem_supervised": "supervised SSLMem", "feldman": "supervised Feldman"}


def variant_study(config: Config, train: StudyTrain) -> Config:
    """The study config with ``train`` as its training: what ``study.encoder_config``,
    ``measure_options`` and ``probe_accuracy`` read. A variant keeps the checkpoints of
    ``over_training.epochs`` inside its training, so that one equal to the base has the very
    same run keys (and reuses the base's runs)."""
    epochs = [epoch for epoch in config.over_training.epochs if epoch <= train.epochs]
    over_training = config.over_training.model_copy(update={"epochs": epochs})
    return config.model_copy(update={"train": train, "over_training": over_training})


def groups(config: Config) -> dict[str, str]:
    """Row name -> ``base`` (the study's ``train``), ``variant`` or ``lambda`` (fig. 4)."""
    named = {variant.name for variant in config.compare.variants}
    return {
        name: "base" if name == config.compare.base_name else "variant" if name in named
        else "lambda"
        for name in config.variant_trains()
    }  # fmt: skip


def progress_steps(config: Config) -> int:
    """Trainings the variants add to the study's progress bar."""
    return 2 * len(config.seeds) * (len(config.variant_trains()) - 1)


def check_variants(config: Config, splits: Splits, planted: Planted, images: torch.Tensor) -> None:
    """Refuse, before any training, a variant whose measurement cannot work: a tap its
    architecture lacks, a measurement augmentation that gives identical views."""
    for name, train in list(config.variant_trains().items())[1:]:
        variant = variant_study(config, train)
        f_config = study.encoder_config(variant, splits, planted, config.seeds[0], "f")
        try:
            study.check_before_training(f_config, planted, images, study.measure_options(variant))
        except ValueError as error:
            raise ValueError(f"compare variant {name!r}: {error}") from None


def score_methods(
    config: Config,
    splits: Splits,
    planted: Planted,
    points: pd.DataFrame,
    images: torch.Tensor,
    base_runs: tuple[list[TrainResult], list[TrainResult]],
    base_pairs: tuple[np.ndarray, np.ndarray],
    train_runs: Callable[[list[TrainConfig]], list[TrainResult]],
    device: torch.device,
    draws: list[int] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train and score every variant (the base's runs and per-pair eq. 1 distances
    ``[K, N, A]`` are given): table 1 (``methods_table``'s rows) and the per-point scores of
    every row, base first (``points`` with variant, score_raw and score_norm of the headline
    estimate). ``draws``: the base's view draws (``study.measure_pairs``; None = the config's
    pairs), which every variant reuses."""
    center = config.measure.center[0]
    kinds = groups(config)

    def options_of(study_config: Config) -> dict[str, Any]:
        options = study.measure_options(study_config)
        return options if draws is None else {**options, "pairs": draws}

    measured = {_measurement(*base_runs, options_of(config)): base_pairs}
    rows, frames = [], []
    for name, train in config.variant_trains().items():
        variant = variant_study(config, train)
        if kinds[name] == "base":
            f_runs, g_runs = base_runs
        else:
            f_runs = train_runs([study.encoder_config(variant, splits, planted, seed, "f")
                                for seed in config.seeds])  # fmt: skip
            g_runs = train_runs([study.encoder_config(variant, splits, planted, seed, "g")
                                for seed in config.seeds])  # fmt: skip
        options = options_of(variant)
        key = _measurement(f_runs, g_runs, options)
        if key not in measured:  # a variant equal to another is measured once
            tap = options["tap"]
            measured[key] = study.measure_pairs(f_runs, g_runs, "final", images, options, [tap],
                                                device)[tap]  # fmt: skip
        pairs_f, pairs_g = measured[key]
        align_f, align_g = pairs_f.mean(axis=2), pairs_g.mean(axis=2)
        scores = tables.scores_table(points, align_f, align_g, [center])
        noise = reliability.split_half(pairs_f, pairs_g, tables.candidate_mask(points))
        accuracies = [
            study.probe_accuracy(variant, [run], "final", splits, planted, device,
                                 probe=config.compare.probe)
            for run in f_runs
        ]  # fmt: skip
        rows.append({"variant": name, "group": kinds[name],
                     **method_row(train, scores, align_f, align_g, center),
                     "pairs": noise.pairs, "reliability": noise.reliability,
                     "probe": config.compare.probe, "probe_accuracy": float(np.mean(accuracies)),
                     "probe_accuracy_seed_std": _seed_std(accuracies)})  # fmt: skip
        frames.append(scores[["id", "subset", "kind", "label", "score_raw", "score_norm"]]
                      .assign(variant=name))  # fmt: skip
    return pd.DataFrame(rows), pd.concat(frames, ignore_index=True)


def _measurement(
    f_runs: list[TrainResult], g_runs: list[TrainResult], options: dict[str, Any]
) -> tuple[str, ...]:
    names = [result.run.path.name for result in f_runs + g_runs]
    return (*names, json.dumps(options, sort_keys=True))


def method_row(
    train: TrainConfig,
    scores: pd.DataFrame,
    align_f: np.ndarray,
    align_g: np.ndarray,
    center: str,
) -> dict[str, Any]:
    """The SSLMem columns of one row of table 1, over the ordinary candidates S_C:

    * ``score_norm_mean``: mean of m(x) / (max_y m(y) - min_y m(y)), eq. 2 normalized by its
      range over the ordinary scored points (appendix A; planted images do not set the scale),
      the headline estimate (``measure.center[0]``):
      the S_C mean of ``tables/sslmem_summary`` for the base;
    * ``score_norm_seed_std``: the spread over seeds (table 1's +-). Per seed k,
      m_k(x) = L(g_k, x) - L(f_k, x) (each centered on S_S for ``center: shared``), divided by
      the same range and averaged over S_C; the sample standard deviation (ddof = 1) of these
      K means (NaN for one seed). Their mean is ``score_norm_mean``; the common range keeps
      one scale (a per-seed range would fold each seed's noise into its scale);
    * ``score_raw_mean``: mean of m(x) itself (eq. 2, in units of d).
    """
    candidates = ((scores["subset"] == "S_C") & (scores["kind"] == tables.ORDINARY)).to_numpy()
    shared = tables.shared_mask(scores)
    raw = scores["score_raw"].to_numpy()
    spread = tables.scale(scores)
    per_seed = [
        memorization_score(align_f[[k]], align_g[[k]], center=center, shared=shared)[candidates]
        .mean() / spread
        for k in range(len(align_f))
    ]  # fmt: skip
    return {
        "method": train.objective.name, "architecture": train.model.name,
        "alignment_lambda": train.alignment_lambda, "epochs": train.epochs,
        "seeds": len(align_f), "center": center, "n_candidates": int(candidates.sum()),
        "score_norm_mean": float(scores.loc[candidates, "score_norm"].mean()),
        "score_norm_seed_std": _seed_std(per_seed),
        "score_raw_mean": float(raw[candidates].mean()),
    }  # fmt: skip


def _seed_std(values: list[float]) -> float:
    return float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")


def agreement_table(
    method_scores: pd.DataFrame,
    supervised: pd.DataFrame | None,
    top_ks: list[int],
    methods: pd.DataFrame | None = None,
    supervised_reliability: float = float("nan"),
) -> pd.DataFrame | None:
    """Tables 12/13 over every pair of S_C score vectors (``feldman.ranking_table``): each
    training's raw score on the ordinary candidates, and, given the ``sslmem_feldman`` table,
    the supervised encoders' SSLMem and Feldman's score. None with fewer than two vectors.

    With ``methods`` (table 1, its ``reliability`` column) every pair gets its noise ceiling
    (tau_ceiling); the supervised SSLMem's reliability is ``supervised_reliability``,
    Feldman's 1 (no views)."""
    candidates = method_scores[(method_scores["subset"] == "S_C")
                               & (method_scores["kind"] == tables.ORDINARY)]  # fmt: skip
    names = list(dict.fromkeys(candidates["variant"]))  # row order, base first
    wide = candidates.pivot(index="id", columns="variant", values="score_raw")[names]
    if supervised is not None:
        columns = supervised.set_index("id")[list(SUPERVISED_COLUMNS)]
        wide = wide.join(columns.rename(columns=SUPERVISED_COLUMNS), how="inner")
    if wide.shape[1] < 2:
        return None
    noise = None
    if methods is not None and "reliability" in methods.columns:
        noise = dict(zip(methods["variant"], methods["reliability"], strict=True))
        noise.update({SUPERVISED_COLUMNS["sslmem_supervised"]: supervised_reliability,
                      SUPERVISED_COLUMNS["feldman"]: 1.0})  # fmt: skip
    return feldman.ranking_table(wide, top_ks, list(combinations(wide.columns, 2)), noise)


def overall_tau(agreement: pd.DataFrame) -> pd.DataFrame:
    """Table 13: tau and p over all candidates (the last row, k = n, of every pair)."""
    return agreement.groupby(["a", "b"], sort=False).tail(1).reset_index(drop=True)


def headlines(
    methods: pd.DataFrame, agreement: pd.DataFrame | None
) -> tuple[dict[str, Any], list[str]]:
    """``summary.json`` numbers and lines: every row of table 1 and, with variants, the range
    of Kendall's tau between trainings."""
    numbers: dict[str, Any] = {"methods": methods.to_dict(orient="records")}
    lines = [
        f"table 1 [{row.variant}] {row.method} on {row.architecture}, lambda "
        f"{row.alignment_lambda:g}, {row.epochs} epochs: SSLMem on S_C {row.score_norm_mean:+.3f}"
        f" +- {row.score_norm_seed_std:.3f} (seeds), raw {row.score_raw_mean:+.4f}, per-image "
        f"reliability {getattr(row, 'reliability', float('nan')):.2f}; {row.probe} "
        f"probe accuracy {row.probe_accuracy:.3f}"
        for row in methods.itertuples()
    ]
    if agreement is not None and len(methods) > 1:
        names = set(methods["variant"])
        overall = overall_tau(agreement)
        between = overall[overall["a"].isin(names) & overall["b"].isin(names)]
        low, high = float(between["tau"].min()), float(between["tau"].max())
        numbers["methods_tau"] = {"min": low, "max": high, "pairs": len(between)}
        line = (f"table 13: Kendall tau between the trainings' S_C rankings from {low:.3f} to "
                f"{high:.3f} ({len(between)} pairs)")  # fmt: skip
        if "tau_ceiling" in between.columns:
            ceilings = between["tau_ceiling"]
            numbers["methods_tau"].update(ceiling_min=float(ceilings.min()),
                                          ceiling_max=float(ceilings.max()))  # fmt: skip
            line += f"; noise ceilings {ceilings.min():.3f} to {ceilings.max():.3f}"
        lines.append(line)
    return numbers, lines
