"""``run``: paper 002 table 5, SSLMem and probe accuracy of encoders trained with DP-SGD.

1. The SSLMem study (``studies.sslmem``) runs in ``out/sslmem/`` with one ``compare`` variant
   per target epsilon (``Config.sslmem_config``): K encoders f on S_S + S_C and K encoders g on
   S_S + S_I per epsilon, all on the same splits and scored with the very same views, pairs and
   tap (its ``tables/sslmem_methods`` is table 1 over these rows).
2. ``tables/sslmem_privacy`` (table 5): per epsilon (infinity = the study's own training), the
   epsilon the accountant reports after training (the largest over the row's runs: every f and
   g of a row has its own n, so its own delta = 1/n and spend), delta, the mean normalized
   SSLMem of the ordinary candidates S_C with its spread over seeds (table 5's +-) and a
   bootstrap interval over the candidates, the drop below no DP that the claim's one-sided
   test (``analysis.stats.difference_p``) detects with 80% probability (``sslmem_drop_mde``,
   ``analysis.power.mde_difference``), and the mean probe accuracy of f.
3. ``figures/sslmem_privacy``: SSLMem and probe accuracy against epsilon; ``summary.json``
   headlines say whether memorization and accuracy fall with epsilon, whichever way it goes.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mnemoscope import data, studies
from mnemoscope.analysis.power import mde_difference
from mnemoscope.analysis.stats import bootstrap_mean_ci, difference_p
from mnemoscope.store import RunDir, json_safe
from mnemoscope.studies.frame import Frame
from mnemoscope.studies.privacy.config import Config, variant_name
from mnemoscope.studies.privacy.summary import PrivacySummary
from mnemoscope.studies.sslmem import study as sslmem_study
from mnemoscope.studies.sslmem import tables
from mnemoscope.training import RunSpec

TABLE = "sslmem_privacy"
SUBSTUDY = "sslmem"  # the SSLMem study's directory inside ``out``


def run(config: Config, frame: Frame) -> PrivacySummary:
    """Run the study in ``frame``; the SSLMem study and its trainings live in ``OUT/sslmem``."""
    inner = config.sslmem_config()
    # Refuse a bad dataset before the first write: a finished directory stays as it was.
    bundle = data.load(config.data.name, **config.data.options)
    check_reachable(inner, bundle)
    run_dir = frame.start(inner.train.device)
    scored = studies.run(inner, frame.path / SUBSTUDY, progress=frame.display, quiet=frame.quiet)
    spent = spent_privacy(inner, bundle, frame.path / SUBSTUDY / "runs")
    table = privacy_table(config, scored.load_table("sslmem_methods"),
                          scored.load_table("sslmem_method_scores"), spent)  # fmt: skip
    run_dir.save_table(TABLE, table)
    run_dir.save_figure(TABLE, privacy_figure(table))
    return summary(table)


def study_specs(config: Config, bundle: data.DatasetBundle) -> list[RunSpec]:
    """Every run the study trains: the inner SSLMem study's (base and one variant per
    epsilon; they live under ``out/sslmem/runs``)."""
    return sslmem_study.study_specs(config.sslmem_config(), bundle)


def check_reachable(inner: Any, bundle: data.DatasetBundle) -> None:
    """Refuse, before any training, a target epsilon the accountant cannot reach for one of the
    DP-SGD runs (``training.privacy.Unreachable``, naming the smallest it reaches)."""
    from mnemoscope.execution.plan import training_images
    from mnemoscope.training.privacy import Accounting

    built: dict[str, Any] = {}
    for spec in sslmem_study.study_specs(inner, bundle):
        train = spec.config
        if train.privacy is not None:
            images, _ = training_images(spec, bundle, built)
            Accounting.calibrate(train.privacy, images, train.batch_size, train.epochs)


def spent_privacy(inner: Any, bundle: data.DatasetBundle, runs: Path) -> dict[float, list[dict]]:
    """Target epsilon -> the ``privacy`` records (``meta.json``) of that row's f and g runs."""
    records: dict[float, list[dict]] = {}
    for spec in sslmem_study.study_specs(inner, bundle):
        if spec.config.privacy is not None:
            meta = RunDir(runs / spec.run_name).read_meta()
            records.setdefault(spec.config.privacy.epsilon, []).append(meta["privacy"])
    return records


def privacy_table(
    config: Config,
    methods: pd.DataFrame,
    method_scores: pd.DataFrame,
    spent: dict[float, list[dict]],
) -> pd.DataFrame:
    """Table 5: one row per epsilon, infinity first, then the targets in decreasing order."""
    stats = config.sslmem.stats
    by_name = methods.set_index("variant")
    rows = []
    for target in sorted([math.inf, *config.epsilons], reverse=True):
        name = variant_name(target)
        row = by_name.loc[name]
        scores = method_scores[method_scores["variant"] == name]
        candidates = scores.loc[tables.candidate_mask(scores), "score_norm"].to_numpy()
        low, high = bootstrap_mean_ci(candidates, confidence=stats.confidence,
                                      n_resamples=stats.bootstrap_resamples)  # fmt: skip
        records = spent.get(target, [])
        rows.append({
            "variant": name, "epsilon_target": target,
            "epsilon_spent": max((r["epsilon"] for r in records), default=math.inf),
            "delta": max((r["delta"] for r in records), default=math.nan),
            "noise_multiplier": max((r["noise_multiplier"] for r in records), default=0.0),
            "sslmem_mean": float(row["score_norm_mean"]),
            "sslmem_seed_std": float(row["score_norm_seed_std"]),
            "sslmem_ci_low": low, "sslmem_ci_high": high, "confidence": stats.confidence,
            "sslmem_raw_mean": float(row["score_raw_mean"]),
            "probe": row["probe"], "probe_accuracy": float(row["probe_accuracy"]),
            "probe_accuracy_seed_std": float(row["probe_accuracy_seed_std"]),
            "seeds": int(row["seeds"]), "n_candidates": int(row["n_candidates"]),
        })  # fmt: skip
    base = (rows[0]["sslmem_ci_low"], rows[0]["sslmem_ci_high"])
    for row in rows:  # the drop below no DP that the claim's test detects 80% of the time
        row["sslmem_drop_mde"] = math.nan if math.isinf(row["epsilon_target"]) else (
            mde_difference(base, (row["sslmem_ci_low"], row["sslmem_ci_high"]),
                           confidence=stats.confidence))  # fmt: skip
    return pd.DataFrame(rows)


def privacy_figure(table: pd.DataFrame) -> Figure:
    """SSLMem on S_C (with its bootstrap interval) and probe accuracy against epsilon; the
    epsilon = infinity baseline is drawn at the right end, marked inf."""
    finite = table["epsilon_target"][np.isfinite(table["epsilon_target"])]
    right = (finite.max() * 2) if len(finite) else 1.0
    x = table["epsilon_target"].where(np.isfinite(table["epsilon_target"]), right).to_numpy()
    figure = Figure(figsize=(9, 3.6), layout="constrained")
    score_axis, accuracy_axis = figure.subplots(1, 2)
    error = np.vstack([table["sslmem_mean"] - table["sslmem_ci_low"],
                       table["sslmem_ci_high"] - table["sslmem_mean"]])  # fmt: skip
    score_axis.errorbar(x, table["sslmem_mean"], yerr=error, marker="o", capsize=3)
    score_axis.set(ylabel="mean normalized SSLMem on S_C", title="memorization")
    accuracy_axis.errorbar(x, table["probe_accuracy"],
                           yerr=table["probe_accuracy_seed_std"].fillna(0), marker="o",
                           capsize=3, color="tab:green")  # fmt: skip
    accuracy_axis.set(ylabel=f"{table['probe'].iloc[0]} probe accuracy", title="downstream")
    labels = ["inf" if math.isinf(t) else f"{t:g}" for t in table["epsilon_target"]]
    for axis in (score_axis, accuracy_axis):
        axis.set_xscale("log")
        axis.set_xticks(x, labels)
        axis.minorticks_off()
        axis.set_xlabel("privacy budget epsilon (DP-SGD target; inf = no DP)")
    return figure


def _budget(row: Any) -> str:
    if math.isinf(row.epsilon_target):
        return "epsilon inf: no DP-SGD"
    return f"epsilon {row.epsilon_target:g}: spent {row.epsilon_spent:.3g} at delta {row.delta:.2g}"


def summary(table: pd.DataFrame) -> PrivacySummary:
    """``summary.json``: table 5's rows and the headlines (paper: both fall as epsilon falls)."""
    lines = [
        f"table 5 [{_budget(row)}]: SSLMem on S_C "
        f"{row.sslmem_mean:+.3f} +- {row.sslmem_seed_std:.3f} (seeds), "
        f"{100 * row.confidence:g}% CI [{row.sslmem_ci_low:+.3f}, {row.sslmem_ci_high:+.3f}], raw "
        f"{row.sslmem_raw_mean:+.4f}; "
        f"{row.probe} probe accuracy {row.probe_accuracy:.3f}"
        for row in table.itertuples()
    ]
    numbers: dict[str, Any] = {"privacy": table.to_dict(orient="records")}
    if len(table) > 1:
        base, tightest = table.iloc[0], table.iloc[-1]
        change = tightest["sslmem_mean"] - base["sslmem_mean"]
        p = difference_p(base["sslmem_mean"], (base["sslmem_ci_low"], base["sslmem_ci_high"]),
                         tightest["sslmem_mean"],
                         (tightest["sslmem_ci_low"], tightest["sslmem_ci_high"]),
                         base["confidence"])  # fmt: skip
        direction = "lower" if change < 0 else "higher"
        lines.append(
            f"DP-SGD at epsilon {tightest['epsilon_target']:g} against no DP: SSLMem on S_C "
            f"{tightest['sslmem_mean']:+.3f} vs {base['sslmem_mean']:+.3f}, {direction} by "
            f"{abs(change):.3f} (one-sided p of a drop {p:.2g});"
            f" probe accuracy {tightest['probe_accuracy']:.3f} vs {base['probe_accuracy']:.3f}"
            " (paper 002 table 5: both fall as epsilon falls)"
        )
        numbers["headline"] = {"sslmem_change": float(change), "drop_p_value": p,
                               "accuracy_change": float(tightest["probe_accuracy"]
                                                        - base["probe_accuracy"])}  # fmt: skip
    numbers["headlines"] = lines
    return PrivacySummary.model_validate(json_safe(numbers))
