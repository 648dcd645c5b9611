"""The study's tables, built from the engine's stored measurements, and ``summary.json``.

Tables (``tables/NAME.csv`` and ``.parquet``):

* ``benign_probes``: setting, epoch, tap, probe (clean_knn, noisy_knn, linear), accuracy; the
  settings of table 2 and ``init`` (the reference run at epoch 0).
* ``benign_verdict``: per random-label setting, definition 4.1: setting, fits_random_labels,
  train_acc_random, probe_acc, init_probe_acc, verdict (+ probe_beats_init, epoch, tap,
  fit_threshold, linear_acc, init_linear_acc, and the seed-level interval: seeds, gain,
  gain_low, gain_high, confidence, margin); accuracies are means over the setting's
  ``verdict.networks`` networks, train_acc_random_min the least-fitted network's.
* ``benign_invariance``: setting, epoch, tap, invariance (eq. 2, mean over the sample).
* ``benign_training``: setting, epoch, loss, train_accuracy (engine, per epoch), fit_accuracy
  (unaugmented training images, at measured epochs).
* one per sweep, ``benign_<sweep>``: the sweep's columns, label, epoch, clean_knn (embedding),
  noisy_knn (output), fit_accuracy, invariance (embedding), linear, init_knn, loss,
  train_accuracy, final, and at final rows of random-label runs the verdict columns;
  ``benign_sweep_probes``: sweep, label, epoch, tap, probe, accuracy for every sweep run.
* ``benign_transfer`` (fig. 10): target, setting, label_noise, augmented, accuracy.
* ``benign_toy`` (fig. 14): samples, augmentations, seed, test_knn, init_knn, fit_accuracy, loss.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from mnemoscope.store import json_safe
from mnemoscope.studies.benign.config import Config
from mnemoscope.studies.benign.probing import PROBES, UNDECIDED, verdict
from mnemoscope.studies.benign.summary import BenignSummary
from mnemoscope.studies.benign.sweeps import VERDICT_SEEDS, Job

SWEEP_TABLES = {
    "banks": "benign_banks",
    "iid": "benign_iid",
    "num_classes": "benign_num_classes",
    "label_noise": "benign_label_noise",
    "projector": "benign_projector",
    "randaugment": "benign_randaugment",
}
HOOK_PREFIX = "benign/"


def long_rows(measured: dict[float, dict[str, np.ndarray]]) -> pd.DataFrame:
    """{epoch: {"benign/<probe>.<tap>": [value]}} -> rows epoch, probe, tap, value."""
    rows = []
    for epoch, values in measured.items():
        for key, value in values.items():
            name = key.removeprefix(HOOK_PREFIX)
            probe, _, tap = name.partition(".")
            rows.append(
                {
                    "epoch": float(epoch),
                    "probe": probe,
                    "tap": tap or None,
                    "value": float(np.asarray(value).reshape(-1)[0]),
                }
            )
    return pd.DataFrame(rows, columns=["epoch", "probe", "tap", "value"])


def _value(rows: pd.DataFrame, epoch: float, probe: str, tap: str | None) -> float:
    selected = rows[(rows.epoch == epoch) & (rows.probe == probe)]
    selected = selected[selected.tap.isna()] if tap is None else selected[selected.tap == tap]
    return float(selected.value.iloc[0]) if len(selected) else math.nan


def build_tables(
    config: Config,
    jobs: list[Job],
    measurements: dict[int, dict[float, dict[str, np.ndarray]]],
    metrics: dict[int, pd.DataFrame],
    transfer: pd.DataFrame,
    toy: pd.DataFrame,
) -> dict[str, pd.DataFrame]:
    """Every table of the study (see the module docstring), by name."""
    rows = {id(job): long_rows(measurements[id(job)]) for job in jobs}
    main = [job for job in jobs if job.sweep == "main"]
    built: dict[str, pd.DataFrame] = {}

    probes, invariance, training, verdicts = [], [], [], []
    for position, job in enumerate(main):
        measured = rows[id(job)]
        settings = [job.label] + (["init"] if position == 0 else [])
        for setting in settings:
            part = measured if setting != "init" else measured[measured.epoch == 0]
            knn = part[part.probe.isin(PROBES)]
            probes.append(knn.assign(setting=setting).rename(columns={"value": "accuracy"}))
            inv = part[part.probe == "invariance"]
            invariance.append(inv.assign(setting=setting).rename(columns={"value": "invariance"}))
        fit = measured[measured.probe == "fit_accuracy"][["epoch", "value"]]
        history = metrics[id(job)][["epoch", "loss", "train_accuracy"]].astype(float)
        merged = fit.rename(columns={"value": "fit_accuracy"}).merge(
            history, on="epoch", how="outer"
        )
        training.append(merged.assign(setting=job.label))
        if job.random_labels:
            seeds = [rows[id(other)] for other in jobs
                     if other.sweep == VERDICT_SEEDS and other.params["setting"] == job.label]
            verdicts.append(_verdict_row(config, job.label, [measured, *seeds]))  # fmt: skip
    built["benign_probes"] = _ordered(
        pd.concat(probes), ["setting", "epoch", "tap", "probe", "accuracy"]
    )
    built["benign_invariance"] = _ordered(
        pd.concat(invariance), ["setting", "epoch", "tap", "invariance"]
    )
    built["benign_training"] = _ordered(
        pd.concat(training), ["setting", "epoch", "loss", "train_accuracy", "fit_accuracy"]
    )
    built["benign_verdict"] = pd.DataFrame(verdicts, columns=VERDICT_COLUMNS)

    sweep_probes = []
    for sweep, name in SWEEP_TABLES.items():
        members = [job for job in jobs if job.sweep == sweep]
        if not members:
            continue
        built[name] = pd.DataFrame(
            [
                row
                for job in members
                for row in _sweep_rows(config, job, rows[id(job)], metrics[id(job)])
            ]
        )
        for job in members:
            measured = rows[id(job)]
            knn = measured[measured.probe.isin(PROBES)].rename(columns={"value": "accuracy"})
            sweep_probes.append(knn.assign(sweep=sweep, label=job.label))
    if sweep_probes:
        built["benign_sweep_probes"] = _ordered(
            pd.concat(sweep_probes), ["sweep", "label", "epoch", "tap", "probe", "accuracy"]
        )
    if len(transfer):
        built["benign_transfer"] = transfer
    if len(toy):
        built["benign_toy"] = toy
    return built


VERDICT_COLUMNS = [
    "setting",
    "fits_random_labels",
    "train_acc_random",
    "probe_acc",
    "init_probe_acc",
    "verdict",
    "probe_beats_init",
    "epoch",
    "tap",
    "fit_threshold",
    "linear_acc",
    "init_linear_acc",
    "seeds",
    "gain",
    "gain_low",
    "gain_high",
    "confidence",
    "margin",
    "train_acc_random_min",
]


def _verdict_row(config: Config, setting: str, runs: list[pd.DataFrame]) -> dict[str, Any]:
    """Definition 4.1 for one setting over its networks (``runs``: their measurement rows,
    the main job first), each at its final epoch against its own initialization."""
    final = float(runs[0].epoch.max())
    fits = [_value(r, float(r.epoch.max()), "fit_accuracy", None) for r in runs]
    probes = [_value(r, float(r.epoch.max()), "clean_knn", "embedding") for r in runs]
    inits = [_value(r, 0.0, "clean_knn", "embedding") for r in runs]
    linear = [_value(r, float(r.epoch.max()), "linear", "embedding") for r in runs]
    init_linear = [_value(r, 0.0, "linear", "embedding") for r in runs]
    return {
        "setting": setting,
        "train_acc_random": float(np.mean(fits)),
        "probe_acc": float(np.mean(probes)),
        "init_probe_acc": float(np.mean(inits)),
        **verdict(fits, probes, inits, config.verdict),
        "epoch": final,
        "tap": "embedding",
        "fit_threshold": config.verdict.fit_threshold,
        "linear_acc": float(np.mean(linear)),
        "init_linear_acc": float(np.mean(init_linear)),
        "confidence": config.verdict.confidence,
        "margin": config.verdict.margin,
        "train_acc_random_min": float(np.min(fits)),
    }


def _sweep_rows(
    config: Config, job: Job, measured: pd.DataFrame, history: pd.DataFrame
) -> list[dict[str, Any]]:
    final = float(measured.epoch.max())
    init = _value(measured, 0.0, "clean_knn", "embedding")
    by_epoch = history.set_index("epoch")
    rows = []
    for epoch in sorted(measured.epoch.unique()):
        row: dict[str, Any] = {
            **job.params,
            "label": job.label,
            "epoch": epoch,
            "clean_knn": _value(measured, epoch, "clean_knn", "embedding"),
            "noisy_knn": _value(measured, epoch, "noisy_knn", "output"),
            "fit_accuracy": _value(measured, epoch, "fit_accuracy", None),
            "invariance": _value(measured, epoch, "invariance", "embedding"),
            "linear": _value(measured, epoch, "linear", "embedding"),
            "init_knn": init,
            "loss": _metric(by_epoch, epoch, "loss"),
            "train_accuracy": _metric(by_epoch, epoch, "train_accuracy"),
            "final": epoch == final,
            "fits_random_labels": None,
            "probe_beats_init": None,
            "verdict": None,
        }
        if epoch == final and job.random_labels and not math.isnan(row["fit_accuracy"]):
            row.update(verdict(row["fit_accuracy"], row["clean_knn"], init, config.verdict))
        rows.append(row)
    return rows


def _metric(by_epoch: pd.DataFrame, epoch: float, column: str) -> float:
    if epoch not in by_epoch.index:
        return math.nan
    value = by_epoch.loc[epoch, column]
    return math.nan if value is None else float(value)


def _ordered(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return table[columns].sort_values(columns[:-1], kind="stable").reset_index(drop=True)


# -- summary.json --------------------------------------------------------------------------


def summary(config: Config, built: dict[str, pd.DataFrame], num_classes: int) -> BenignSummary:
    """Headline numbers and one-line findings (``headlines``) behind the verdict."""
    probes = built["benign_probes"]
    invariance = built["benign_invariance"]
    result: dict[str, Any] = {"num_classes": num_classes, "chance": 1.0 / num_classes}
    final_knn: dict[str, dict[str, float]] = {}
    final_noisy: dict[str, dict[str, float]] = {}
    final_invariance: dict[str, float] = {}
    for setting, part in probes.groupby("setting", sort=False):
        last = part[part.epoch == part.epoch.max()]
        clean = last[last.probe == "clean_knn"]
        noisy = last[last.probe == "noisy_knn"]
        final_knn[setting] = dict(zip(clean.tap, clean.accuracy.astype(float), strict=True))
        final_noisy[setting] = dict(zip(noisy.tap, noisy.accuracy.astype(float), strict=True))
        inv = invariance[(invariance.setting == setting) & (invariance.epoch == last.epoch.max())]
        inv = inv[inv.tap == "embedding"]
        final_invariance[setting] = float(inv.invariance.iloc[0]) if len(inv) else math.nan
    result["clean_knn_final"] = final_knn
    result["noisy_knn_final"] = final_noisy
    result["invariance_embedding_final"] = final_invariance
    verdicts = built["benign_verdict"]
    result["verdicts"] = verdicts.to_dict(orient="records")
    training = built["benign_training"]
    result["epochs"] = {s: float(p.epoch.max()) for s, p in training.groupby("setting")}
    headlines = [_verdict_headline(row) for row in result["verdicts"]]
    init = final_knn.get("init", {})
    for setting in ("random", "random+da"):
        if setting in final_knn and "output" in final_knn[setting] and "output" in init:
            knn = final_knn[setting]
            network = f" (seed {config.train.seed})" if config.verdict.networks > 1 else ""
            headlines.append(
                f"{setting}{network}: clean kNN of the output layer {init['output']:.1%} -> "
                f"{knn['output']:.1%}, of the embedding {init['embedding']:.1%} -> "
                f"{knn['embedding']:.1%}, of layers 1-4 {_span(knn)} (init {_span(init)}); "
                f"chance {1 / num_classes:.0%}"
            )
    if "benign_toy" in built:  # the capacity effect: what shows best at small scale
        result["toy"], line = _toy_summary(built["benign_toy"])
        headlines.append(line)
    for setting in ("clean+da", "clean"):
        if setting in final_knn and "embedding" in init:
            headlines.append(
                f"{setting} (reference): embedding kNN {final_knn[setting]['embedding']:.1%} "
                f"(init {init['embedding']:.1%})"
            )
    if final_invariance:
        parts = ", ".join(f"{s} {v:.2f}" for s, v in final_invariance.items())
        headlines.append(
            f"normalized invariance of the embedding (eq. 2, lower = more invariant): {parts}"
        )
    result["sweeps"] = {}
    for sweep, name in SWEEP_TABLES.items():
        if name in built:
            finals = built[name][built[name].final]
            result["sweeps"][sweep] = finals.drop(columns=["final"]).to_dict(orient="records")
            headline = _sweep_headline(sweep, finals)
            if headline:
                headlines.append(headline)
    if "benign_transfer" in built:
        transfer = built["benign_transfer"]
        result["transfer"] = transfer.to_dict(orient="records")
        for target, part in transfer.groupby("target", sort=False):
            values = ", ".join(f"{r.setting} {r.accuracy:.1%}" for r in part.itertuples())
            headlines.append(f"transfer to {target} (embedding kNN): {values}")
    result["headlines"] = headlines
    return BenignSummary.model_validate(json_safe(result))


def _span(by_tap: dict[str, float]) -> str:
    values = [by_tap[tap] for tap in ("layer1", "layer2", "layer3", "layer4") if tap in by_tap]
    return f"{min(values):.1%}-{max(values):.1%}" if values else "n/a"


def _verdict_headline(row: dict[str, Any]) -> str:
    fit = f"fits {row['train_acc_random']:.1%} of its random labels"
    probe = f"embedding kNN {row['probe_acc']:.1%} vs {row['init_probe_acc']:.1%} at init"
    if row["seeds"] > 1:
        fit += f" (mean of {row['seeds']} seeds, least {row['train_acc_random_min']:.1%})"
        probe += (
            f", gain {100 * row['gain']:+.1f} points, {row['confidence']:.0%} seed interval "
            f"[{100 * row['gain_low']:+.1f}, {100 * row['gain_high']:+.1f}] against a margin of "
            f"{100 * row['margin']:.1f}"
        )
    if row["verdict"] == "no memorization":
        side = "above" if row["probe_beats_init"] else "not above"
        return (
            f"{row['setting']}: no memorization ({fit}, threshold "
            f"{row['fit_threshold']:.0%}); {probe}, {side} init"
        )
    if row["verdict"] == UNDECIDED:
        return f"{row['setting']}: memorization, benign or malign {row['verdict']} ({fit}); {probe}"
    return f"{row['setting']}: {row['verdict']} memorization ({fit}); {probe}"


def _sweep_headline(sweep: str, finals: pd.DataFrame) -> str | None:
    def pairs(column: str, rows: pd.DataFrame) -> str:
        return ", ".join(f"{getattr(r, column)}: {r.clean_knn:.1%}" for r in rows.itertuples())

    init = float(finals.init_knn.iloc[0]) if len(finals) else math.nan
    if sweep == "banks":
        lines = [f"{mode} {pairs('views', part)}" for mode, part in finals.groupby("mode")]
        return f"banks (fig. 6), embedding kNN by B: {'; '.join(lines)} (init {init:.1%})"
    if sweep == "iid":
        return f"i.i.d. augmentations (table 3), embedding kNN: {pairs('label', finals)}"
    if sweep == "num_classes":
        return f"random classes (fig. 9), embedding kNN by C: {pairs('num_classes', finals)}"
    if sweep == "label_noise":
        lines = [
            f"{'with' if aug else 'without'} DA {pairs('label_noise', part)}"
            for aug, part in finals.groupby("augmented")
        ]
        return f"label noise (fig. 13), embedding kNN: {'; '.join(lines)} (init {init:.1%})"
    if sweep == "projector":
        return f"projector width (fig. 8), embedding kNN: {pairs('projector_hidden', finals)}"
    if sweep == "randaugment":
        return f"RandAugment (fig. 12), embedding kNN by strength: {pairs('strength', finals)}"
    return None


def _toy_summary(toy: pd.DataFrame) -> tuple[dict[str, Any], str]:
    mean = toy.groupby(["samples", "augmentations"]).mean(numeric_only=True).reset_index()
    small = int(mean.samples.min())
    row = mean[mean.samples == small].sort_values("augmentations")
    one, many = row.iloc[0], row.iloc[-1]
    grid = {
        f"n={int(r.samples)},B={int(r.augmentations)}": float(r.test_knn) for r in mean.itertuples()
    }
    numbers = {
        "small_n": small,
        "fewest_augmentations": int(one.augmentations),
        "test_knn_fewest": float(one.test_knn),
        "most_augmentations": int(many.augmentations),
        "test_knn_most": float(many.test_knn),
        "init_knn": float(mean.init_knn.mean()),
        "test_knn": grid,
    }
    line = (
        f"toy model (fig. 14): at n={small}, test kNN {one.test_knn:.1%} with "
        f"B={int(one.augmentations)} vs {many.test_knn:.1%} with B={int(many.augmentations)} "
        f"(init {numbers['init_knn']:.1%})"
    )
    return numbers, line
