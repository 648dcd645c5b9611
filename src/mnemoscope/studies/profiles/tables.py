"""The study's tables and ``summary.json``, computed from the stored arrays only.

The config's ``procedure`` (``analysis.profiles.Procedure``) chooses the indicator, the fixed
view, the binomial's trials and the alignment rule; the default is the paper authors' own.

* ``profile_alignment``: per paradigm, variant (``averaged``: p_t of eq. 1/4; ``fixed``: p~_t of
  eq. 2), ``null`` and target p^ (section 4.2): the aligned epoch, its mean p, the MAE to the
  null (mean, sd over draws) and a chi-square. ``null = binomial``: sorted Bin(T, p^) / T noise
  (the paper's comparison), with Pearson's chi-square against Bin(N, p^) for ``fixed`` only (NaN
  for ``averaged``: appendix B shows that p_t has no binomial law). ``null = network_block``:
  the network-block permutation null (mnemoscope's headline distance: it keeps each network's
  recognition rate and view agreement), with the Monte Carlo chi-square p-value, both variants.
* ``profile_distance``: the same statistics at every measured epoch.
* ``recognition``: p_t, p~_t and the mean probabilities per paradigm, epoch and example.
* ``dynamics``, ``dynamics_correlation``: learning-dynamics scores per image and their rank
  correlation with the profile (``studies.profiles.dynamics``).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from mnemoscope.analysis.profiles import (
    Procedure,
    align_epochs,
    averaged_recognition,
    binomial_chi2,
    binomial_mae,
    fixed_recognition,
    network_block_null,
)
from mnemoscope.store import RunDir, json_safe
from mnemoscope.studies.profiles.config import Config
from mnemoscope.studies.profiles.dynamics import write_dynamics_tables
from mnemoscope.studies.profiles.summary import ProfilesSummary

VARIANTS = ("averaged", "fixed")
NULLS = ("binomial", "network_block")


def load_indicators(study: RunDir, name: str, procedure: Procedure) -> dict[str, np.ndarray]:
    """The procedure's indicators of one paradigm: ``views`` uint8 [N, E, M', X] and ``fixed``
    uint8 [N, E, X], plus the matching ``probabilities`` and ``fixed_probabilities``."""
    simclr = bool(np.all(study.load_array(f"{name}-targets", mmap=False) == -1))
    anchor = simclr and procedure.simclr_indicator == "anchor"
    if anchor and not study.has_array(f"{name}-anchor_indicators"):
        raise ValueError(
            f"{study.path} holds no anchor indicators for SimCLR paradigm {name!r} (measured "
            "before they were recorded): run the study again, or set simclr_indicator: mutual"
        )
    prefix = "anchor_" if anchor else ""
    views = study.load_array(f"{name}-{prefix}indicators", mmap=False)
    probabilities = study.load_array(f"{name}-probabilities", mmap=False)
    if procedure.fixed_view == "first":
        fixed, fixed_probabilities = views[:, :, 0], probabilities[:, :, 0]
    else:
        fixed = study.load_array(f"{name}-{prefix}fixed", mmap=False)
        fixed_probabilities = study.load_array(f"{name}-fixed_probabilities", mmap=False)
    return {"views": views, "fixed": np.ascontiguousarray(fixed), "probabilities": probabilities,
            "fixed_probabilities": np.ascontiguousarray(fixed_probabilities)}  # fmt: skip


def load_recognition(study: RunDir, name: str, procedure: Procedure) -> dict[str, Any]:
    """One paradigm's stored arrays and what follows from them under ``procedure``: ``epochs``
    [E], and per variant ``values`` [E, X] (p_t or p~_t), ``trials`` (T of the binomial),
    ``counts`` ([E, X] successes out of N, or None), ``network_counts`` [E, N, X] (s_i(x)) and
    ``null_trials`` (N M' or N: what the network counts sum to at most)."""
    arrays = load_indicators(study, name, procedure)
    views, fixed = arrays["views"], arrays["fixed"]
    seeds, _, augmentations, _ = views.shape
    per_view = procedure.averaged_trials == "seeds_x_augmentations"
    averaged = seeds * augmentations if per_view else seeds
    return {
        "epochs": study.load_array(f"{name}-epochs", mmap=False),
        "seeds": seeds,
        "views": augmentations,
        "indicators": arrays,
        "averaged": {"values": averaged_recognition(views), "trials": averaged, "counts": None,
                     "network_counts": views.sum(axis=2, dtype=np.int64).transpose(1, 0, 2),
                     "null_trials": seeds * augmentations},
        "fixed": {"values": fixed_recognition(fixed), "trials": seeds,
                  "counts": fixed.sum(axis=0, dtype=np.int64),
                  "network_counts": fixed.astype(np.int64).transpose(1, 0, 2),
                  "null_trials": seeds},
    }  # fmt: skip


def profile_statistics(
    part: dict[str, Any], epoch: int, config: Config, procedure: Procedure
) -> dict[str, dict[str, float]]:
    """mean p and, per null, the MAE (mean, sd) and chi-square of one variant at one epoch."""
    values = part["values"][epoch]
    mae, mae_sd = binomial_mae(values, part["trials"], draws=config.binomial_draws,
                               seed=config.binomial_seed, ddof=procedure.sd_ddof)  # fmt: skip
    binomial = {"mean_p": float(values.mean()), "mae": mae, "mae_sd": mae_sd,
                "chi2": float("nan"), "chi2_p": float("nan"), "chi2_dof": 0,
                "trials": part["trials"]}  # fmt: skip
    if part["counts"] is not None:
        test = binomial_chi2(part["counts"][epoch], part["trials"])
        binomial.update(chi2=test.statistic, chi2_p=test.p_value, chi2_dof=test.dof)
    null = network_block_null(part["network_counts"][epoch], part["null_trials"],
                              config.null_permutations, config.null_seed)  # fmt: skip
    block = {"mean_p": float(values.mean()), "mae": null.mae, "mae_sd": null.mae_sd,
             "chi2": null.chi2, "chi2_p": null.p_value, "chi2_dof": null.dof,
             "trials": null.trials}  # fmt: skip
    return {"binomial": binomial, "network_block": block}


def write_tables(config: Config, study: RunDir) -> ProfilesSummary:
    """Write the tables; return the summary (``summary.json``'s content)."""
    procedure = config.resolved_procedure()
    alignment, distance, recognition = [], [], []
    ids = study.load_array("tracked-ids", mmap=False)
    labels = study.load_array("tracked-labels", mmap=False)
    loaded = {}
    for paradigm in config.paradigms:
        name = paradigm.name
        loaded[name] = arrays = load_recognition(study, name, procedure)
        epochs = arrays["epochs"]
        for variant in VARIANTS:
            part = arrays[variant]
            stats = [profile_statistics(part, e, config, procedure) for e in range(len(epochs))]
            common = {"paradigm": name, "variant": variant}
            for null in NULLS:
                distance += [{**common, "null": null, "epoch": float(epoch), **row[null]}
                             for epoch, row in zip(epochs, stats, strict=True)]  # fmt: skip
            mean_p = [row["binomial"]["mean_p"] for row in stats]
            for aligned in align_epochs(epochs, mean_p, config.targets, procedure.alignment):
                for null in NULLS:
                    alignment.append({**common, "null": null, "target_p": aligned.target_p,
                                      "epoch": aligned.epoch, "reached": aligned.reached,
                                      **stats[aligned.index][null]})  # fmt: skip
        probabilities = arrays["indicators"]["probabilities"]
        fixed_probabilities = arrays["indicators"]["fixed_probabilities"]
        targets = study.load_array(f"{name}-targets", mmap=False)
        for e, epoch in enumerate(epochs):
            recognition.append(pd.DataFrame({
                "paradigm": name, "epoch": float(epoch), "example_id": ids, "label": labels,
                "target": targets, "p": arrays["averaged"]["values"][e],
                "p_fixed": arrays["fixed"]["values"][e],
                "probability": probabilities[:, e].astype(np.float32).mean(axis=(0, 1)),
                "probability_fixed": fixed_probabilities[:, e].astype(np.float32).mean(axis=0),
            }))  # fmt: skip
    columns = ["paradigm", "variant", "null", "target_p", "epoch", "mean_p", "reached", "mae",
               "mae_sd", "chi2", "chi2_p", "chi2_dof", "trials"]  # fmt: skip
    alignment_table = pd.DataFrame(alignment)[columns]
    study.save_table("profile_alignment", alignment_table)
    study.save_table("profile_distance", pd.DataFrame(distance))
    study.save_table("recognition", pd.concat(recognition, ignore_index=True))
    dynamics = write_dynamics_tables(study, loaded, alignment_table, middle_target(config.targets))
    return build_summary(config, study, loaded, alignment_table, dynamics)


def middle_target(targets: list[float]) -> float:
    """The target the headlines compare paradigms at: 0.5 when present (section 4.2)."""
    return 0.5 if 0.5 in targets else sorted(targets)[len(targets) // 2]


def build_summary(
    config: Config,
    study: RunDir,
    loaded: dict[str, Any],
    alignment: pd.DataFrame,
    dynamics: pd.DataFrame | None = None,
) -> ProfilesSummary:
    """Headline numbers and one-line findings."""
    procedure = config.resolved_procedure()
    training = study.load_table("training")
    tracking_seconds = float(training["tracking_seconds"].sum())
    training_seconds = float(training["training_seconds"].sum())
    share = tracking_seconds / max(tracking_seconds + training_seconds, 1e-9)
    paradigms, headlines = {}, []
    rule = "first reaching" if procedure.alignment == "first" else "closest to"
    for name, arrays in loaded.items():
        rows = alignment[(alignment.paradigm == name) & (alignment.variant == "averaged")
                         & (alignment.null == "binomial")]  # fmt: skip
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
            f"{name}: epochs {rule} mean p_t = {'/'.join(f'{t:g}' for t in rows.target_p)}: "
            f"{'/'.join(marks)}; mean p_t {paradigms[name]['initial_mean_p']:.2f} at "
            f"initialization, {paradigms[name]['final_mean_p']:.2f} at epoch "
            f"{arrays['epochs'][-1]:g}"
        )
    target = middle_target(config.targets)
    at_target = alignment[alignment.target_p == target]
    for variant in VARIANTS:
        block = at_target[(at_target.variant == variant) & (at_target.null == "network_block")]
        listed = ", ".join(
            f"{r.paradigm} {r.mae:.3f} +/- {r.mae_sd:.3f} (chi-square p {r.chi2_p:.2g})"
            + ("" if r.reached else " (p not reached)")
            for r in block.sort_values("mae", ascending=False).itertuples()
        )
        headlines.append(
            f"MAE of {variant} profiles to the network-block permutation null (images shuffled "
            f"within each network) at mean p ~ {target:g}: {listed}"
        )
        binomial = at_target[(at_target.variant == variant) & (at_target.null == "binomial")]
        listed = ", ".join(
            f"{r.paradigm} {r.mae:.3f}" + ("" if r.reached else " (p not reached)")
            for r in binomial.sort_values("mae", ascending=False).itertuples()
        )
        trials = "N" if variant == "fixed" or procedure.averaged_trials == "seeds" else "N M"
        headlines.append(
            f"MAE of {variant} profiles to Bin({trials}, p^) noise ({procedure.name} procedure) "
            f"at mean p ~ {target:g}: {listed} "
            + ("(paper 001: supervised far from binomial, the others close)"
               if variant == "averaged" else
               "(paper 001: fixing augmentations moves SimCLR away from binomial)")
        )  # fmt: skip
    fixed_rows = at_target[(at_target.variant == "fixed") & (at_target.null == "binomial")]
    tests = ", ".join(f"{r.paradigm} {r.chi2_p:.2g}" for r in fixed_rows.itertuples())
    headlines.append(f"chi-square p-values of fixed augmentations vs Bin(N, p^) at p ~ "
                     f"{target:g}: {tests}")  # fmt: skip
    if dynamics is not None and len(dynamics):
        for r in dynamics[dynamics.score == "forgetting_events"].itertuples():
            headlines.append(
                f"{r.paradigm}: forgetting events vs p_t at mean p ~ {target:g}: Spearman "
                f"{r.spearman:+.2f}; confidence "
                + f"{_rho(dynamics, r.paradigm, 'confidence'):+.2f}, variability "
                + f"{_rho(dynamics, r.paradigm, 'variability'):+.2f}"
            )
    headlines.append(f"recognition tracking took {share:.1%} of training + tracking time")
    return ProfilesSummary.model_validate(json_safe({
        "procedure": procedure.name,
        "seeds": len(config.seeds),
        "tracked_images": config.tracking.size,
        "augmentations": config.tracking.augmentations,
        "targets": config.targets,
        "tracking_share": share,
        "paradigms": paradigms,
        "alignment": json.loads(alignment.to_json(orient="records")),
        "dynamics_correlation": [] if dynamics is None
        else json.loads(dynamics.to_json(orient="records")),
        "headlines": headlines,
    }))


def _rho(table: pd.DataFrame, paradigm: str, score: str) -> float:
    chosen = table[(table.paradigm == paradigm) & (table.score == score)]
    return float(chosen.spearman.iloc[0]) if len(chosen) else float("nan")
