"""The study's tables and ``summary.json``, computed from the stored arrays only.

* ``profile_alignment``: per paradigm, variant (``averaged``: p_t of eq. 1/4, compared with a
  binomial of N M' trials, or N with ``averaged_trials: seeds``;
  ``fixed``: p~_t of eq. 2 over N trials) and target p^ (section 4.2): the aligned epoch, its
  mean p, the MAE to sorted binomial noise (mean, sd over draws) and, for ``fixed``, Pearson's
  chi-square against Bin(N, p^) (NaN for ``averaged``: appendix B shows that p_t has no
  binomial law, eq. 4, so only the MAE approximation is reported for it).
* ``profile_distance``: the same statistics at every measured epoch.
* ``recognition``: p_t, p~_t and the mean probabilities per paradigm, epoch and example.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from mnemoscope.analysis.profiles import (
    align_epochs,
    averaged_recognition,
    binomial_chi2,
    binomial_mae,
    fixed_recognition,
)
from mnemoscope.store import RunDir
from mnemoscope.studies.profiles.config import Config

VARIANTS = ("averaged", "fixed")


def load_recognition(study: RunDir, name: str, averaged_trials: str) -> dict[str, Any]:
    """One paradigm's stored arrays and what follows from them: ``epochs`` [E], and per
    variant ``values`` [E, X] (p_t or p~_t), ``trials`` and ``counts`` ([E, X] or None).
    ``averaged_trials``: ``Config.averaged_trials``."""
    indicators = study.load_array(f"{name}-indicators", mmap=False)
    fixed = study.load_array(f"{name}-fixed", mmap=False)
    seeds, _, views, _ = indicators.shape
    averaged = seeds * views if averaged_trials == "seeds_x_augmentations" else seeds
    return {
        "epochs": study.load_array(f"{name}-epochs", mmap=False),
        "seeds": seeds,
        "views": views,
        "averaged": {"values": averaged_recognition(indicators), "trials": averaged,
                     "counts": None},
        "fixed": {"values": fixed_recognition(fixed), "trials": seeds,
                  "counts": fixed.sum(axis=0, dtype=np.int64)},
    }  # fmt: skip


def profile_statistics(
    values: np.ndarray, trials: int, counts: np.ndarray | None, draws: int, seed: int
) -> dict[str, float]:
    """mean p, MAE to binomial noise (mean, sd) and, given counts, the chi-square test."""
    mae, mae_sd = binomial_mae(values, trials, draws=draws, seed=seed)
    row = {"mean_p": float(values.mean()), "mae": mae, "mae_sd": mae_sd,
           "chi2": float("nan"), "chi2_p": float("nan"), "chi2_dof": 0}  # fmt: skip
    if counts is not None:
        test = binomial_chi2(counts, trials)
        row.update(chi2=test.statistic, chi2_p=test.p_value, chi2_dof=test.dof)
    return row


def write_tables(config: Config, study: RunDir) -> dict[str, Any]:
    """Write the three tables and ``summary.json``; return the summary."""
    alignment, distance, recognition = [], [], []
    ids = study.load_array("tracked-ids", mmap=False)
    labels = study.load_array("tracked-labels", mmap=False)
    loaded = {}
    for paradigm in config.paradigms:
        name = paradigm.name
        loaded[name] = arrays = load_recognition(study, name, config.averaged_trials)
        epochs = arrays["epochs"]
        for variant in VARIANTS:
            part = arrays[variant]
            stats = [
                profile_statistics(part["values"][e], part["trials"],
                                   None if part["counts"] is None else part["counts"][e],
                                   config.binomial_draws, config.binomial_seed)
                for e in range(len(epochs))
            ]  # fmt: skip
            common = {"paradigm": name, "variant": variant, "trials": part["trials"]}
            distance += [{**common, "epoch": float(epoch), **row}
                         for epoch, row in zip(epochs, stats, strict=True)]  # fmt: skip
            mean_p = [row["mean_p"] for row in stats]
            for aligned in align_epochs(epochs, mean_p, config.targets):
                alignment.append({**common, "target_p": aligned.target_p, "epoch": aligned.epoch,
                                  "reached": aligned.reached, **stats[aligned.index]})  # fmt: skip
        probabilities = study.load_array(f"{name}-probabilities", mmap=False)
        fixed_probabilities = study.load_array(f"{name}-fixed_probabilities", mmap=False)
        targets = study.load_array(f"{name}-targets", mmap=False)
        for e, epoch in enumerate(epochs):
            recognition.append(pd.DataFrame({
                "paradigm": name, "epoch": float(epoch), "example_id": ids, "label": labels,
                "target": targets, "p": arrays["averaged"]["values"][e],
                "p_fixed": arrays["fixed"]["values"][e],
                "probability": probabilities[:, e].astype(np.float32).mean(axis=(0, 1)),
                "probability_fixed": fixed_probabilities[:, e].astype(np.float32).mean(axis=0),
            }))  # fmt: skip
    columns = ["paradigm", "variant", "target_p", "epoch", "mean_p", "reached", "mae", "mae_sd",
               "chi2", "chi2_p", "chi2_dof", "trials"]  # fmt: skip
    alignment_table = pd.DataFrame(alignment)[columns]
    study.save_table("profile_alignment", alignment_table)
    study.save_table("profile_distance", pd.DataFrame(distance))
    study.save_table("recognition", pd.concat(recognition, ignore_index=True))
    summary = build_summary(config, study, loaded, alignment_table)
    study.write_summary(summary)
    return summary


def middle_target(targets: list[float]) -> float:
    """The target the headlines compare paradigms at: 0.5 when present (section 4.2)."""
    return 0.5 if 0.5 in targets else sorted(targets)[len(targets) // 2]


def build_summary(
    config: Config, study: RunDir, loaded: dict[str, Any], alignment: pd.DataFrame
) -> dict[str, Any]:
    """Headline numbers and one-line findings."""
    training = study.load_table("training")
    tracking_seconds = float(training["tracking_seconds"].sum())
    training_seconds = float(training["training_seconds"].sum())
    share = tracking_seconds / max(tracking_seconds + training_seconds, 1e-9)
    paradigms, headlines = {}, []
    for name, arrays in loaded.items():
        rows = alignment[(alignment.paradigm == name) & (alignment.variant == "averaged")]
        costs = training[training.paradigm == name]
        paradigms[name] = {
            "seeds": int(arrays["seeds"]),
            "augmentations": int(arrays["views"]),
            "epochs_measured": int(len(arrays["epochs"])),
            "last_epoch": float(arrays["epochs"][-1]),
            "initial_mean_p": float(arrays["averaged"]["values"][0].mean()),
            "final_mean_p": float(arrays["averaged"]["values"][-1].mean()),
            "final_mean_p_fixed": float(arrays["fixed"]["values"][-1].mean()),
            "aligned_epochs": {f"{r.target_p:g}": float(r.epoch) for r in rows.itertuples()},
            "tracking_share": float(costs.tracking_seconds.sum()
                                    / max(costs.tracking_seconds.sum()
                                          + costs.training_seconds.sum(), 1e-9)),
        }  # fmt: skip
        marks = [
            f"{r.epoch:g}" + ("" if r.reached else " (not reached)") for r in rows.itertuples()
        ]
        headlines.append(
            f"{name}: epochs closest to mean p_t = {'/'.join(f'{t:g}' for t in rows.target_p)}: "
            f"{'/'.join(marks)}; mean p_t {paradigms[name]['initial_mean_p']:.2f} at "
            f"initialization, {paradigms[name]['final_mean_p']:.2f} at epoch "
            f"{arrays['epochs'][-1]:g}"
        )
    target = middle_target(config.targets)
    at_target = alignment[alignment.target_p == target]
    for variant in VARIANTS:
        rows = at_target[at_target.variant == variant].sort_values("mae", ascending=False)
        listed = ", ".join(
            f"{r.paradigm} {r.mae:.3f}" + ("" if r.reached else " (p not reached)")
            for r in rows.itertuples()
        )
        headlines.append(
            f"MAE of {variant} profiles to binomial noise at mean p ~ {target:g}: {listed} "
            + ("(paper 001: supervised far from binomial, the others close)"
               if variant == "averaged" else
               "(paper 001: fixing augmentations moves SimCLR away from binomial)")
        )  # fmt: skip
    fixed_rows = at_target[at_target.variant == "fixed"]
    tests = ", ".join(f"{r.paradigm} {r.chi2_p:.2g}" for r in fixed_rows.itertuples())
    headlines.append(f"chi-square p-values of fixed augmentations vs Bin(N, p^) at p ~ "
                     f"{target:g}: {tests}")  # fmt: skip
    headlines.append(f"recognition tracking took {share:.1%} of training + tracking time")
    return {
        "study": "profiles",
        "seeds": config.seeds,
        "tracked_images": config.tracking.size,
        "augmentations": config.tracking.augmentations,
        "targets": config.targets,
        "tracking_share": share,
        "paradigms": paradigms,
        "alignment": json.loads(alignment.to_json(orient="records")),
        "headlines": headlines,
    }
