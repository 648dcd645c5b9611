"""``run``: the privacy audit (issue 28), from the canaries to an empirical epsilon beside the
accountant's.

1. Lay out the pool (``pool.make_layout``: the shared images and the canaries) and draw each
   method's membership of the canaries (``atlas.pool.membership``: complementary halves per
   pair of models); refuse, before any training, an epsilon the accountant cannot reach and an
   SSL measurement that cannot work.
2. Train K models per method and epsilon (``Config.pool_trains``), model k on the shared images
   and its IN canaries with seed ``train.seed + k``; DP-SGD pools record the epsilon the
   accountant spent in each run's ``meta.json`` (``privacy``; ``training.privacy``).
3. Measure every model on every canary: the atlas's membership statistic, the logit-scaled
   p(y | x) of a classifier and the mean alignment loss of an SSL encoder
   (``arrays/<pool>-statistic`` [K, N]).
4. Attack: the atlas's LiRA (``atlas.scores.lira_ratios``: every model the target in turn, its
   Gaussians fitted on the models outside its pair) on the canaries alone, each (target model,
   canary) one trial; its ROC gives the TPR at 0.1 % and 1 % FPR, and
   ``analysis.privacy_audit.epsilon_lower_bound`` (split correction, ``audit.seed``) the
   empirical lower bound at ``audit.confidence``, with the pool's delta
   (Jagielski et al., NeurIPS 2020; Nasr et al., IEEE S&P 2021):

       epsilon >= max_t log((TPR_low(t) - delta) / FPR_high(t))

   A bound above the accountant's epsilon means the training is not (epsilon, delta)-DP as
   reported (with probability at most 1 - confidence when it is, the trials being independent:
   ``analysis.privacy_audit``'s caveat).
5. ``tables/privacy_audit`` (one row per pool), ``figures/privacy_audit`` and ``summary.json``.

Output layout of ``out`` (besides config.yaml, meta.json, summary.json, COMPLETE, runs/):

    arrays/<method>-inside          bool [K, N]: method's model k trained on canary n
    arrays/<pool>-statistic         float64 [K, N]: the membership statistic of every model
    tables/privacy_audit_canaries   per canary: id, kind, label trained on, true label
    tables/privacy_audit            per pool: the accountant's epsilon, the empirical bound
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import torch

from mnemoscope import data
from mnemoscope.analysis.membership import FPRS, logit_scale
from mnemoscope.analysis.privacy_audit import epsilon_lower_bound
from mnemoscope.analysis.roc import roc
from mnemoscope.measure.alignment import alignment_losses
from mnemoscope.store import RunDir
from mnemoscope.studies.atlas.pool import Layout, model_subset
from mnemoscope.studies.atlas.scores import lira_ratios
from mnemoscope.studies.atlas.study import measure_view
from mnemoscope.studies.frame import Frame
from mnemoscope.studies.privacy_audit.config import Config, row_name
from mnemoscope.studies.privacy_audit.pool import AuditRecipe, make_layout, memberships
from mnemoscope.studies.privacy_audit.report import FIGURE, TABLE, audit_figure
from mnemoscope.studies.privacy_audit.summary import AuditSummary, study_summary
from mnemoscope.studies.sslmem import feldman
from mnemoscope.studies.sslmem import study as sslmem
from mnemoscope.studies.sslmem.planted import Planted
from mnemoscope.training import RunSpec, TrainResult
from mnemoscope.training.privacy import Accounting

Pools = dict[tuple[str, float], list[RunSpec]]


def run(config: Config, frame: Frame) -> AuditSummary:
    """Run the audit in ``frame`` (module docstring); trainings live in ``OUT/runs/``."""
    # Everything that can refuse the input comes before the first write (frame.start).
    bundle = data.load(config.data.name, **config.data.options)
    layout = make_layout(bundle, config.pool, config.canaries)
    insides = memberships(layout.kind, config.pool, [m.name for m in config.methods])
    specs = pool_specs(config, layout, insides)
    check_before_training(config, layout, specs)
    store = frame.start(config.train.device)
    frame.steps(sum(len(group) for group in specs.values()) + len(specs) + 1)
    for name, inside in insides.items():
        store.save_array(f"{name}-inside", inside)
    store.save_table(f"{TABLE}_canaries", canary_table(layout))
    trained = frame.train([spec for group in specs.values() for spec in group], bundle=bundle)
    rows = []
    for (method, epsilon), group in specs.items():
        runs, trained = trained[: len(group)], trained[len(group) :]
        name = row_name(method, epsilon)
        with store.timed(f"measuring {name}"):
            values = statistic(config, method, runs, layout, frame.device)
        store.save_array(f"{name}-statistic", values)
        rows.append(audit_row(config, method, epsilon, values, insides[method], layout,
                              [result.run for result in runs]))  # fmt: skip
        frame.advance()
    table = pd.DataFrame(rows)
    store.save_table(TABLE, table)
    store.save_figure(FIGURE, audit_figure(table))
    frame.advance()
    return study_summary(config, table)


def pool_specs(config: Config, layout: Layout, insides: dict[str, np.ndarray]) -> Pools:
    """The K runs of every pool, by (method, epsilon), in model order."""
    recipe = AuditRecipe(pool=config.pool, canaries=config.canaries)
    return {(method, epsilon): [
        RunSpec(train.run_config(config.data, model_subset(layout, insides[method], k),
                                 seed=train.seed + k), recipe)
        for k in range(config.pool.models)]
        for (method, epsilon), train in config.pool_trains().items()}  # fmt: skip


def study_specs(config: Config, bundle: data.DatasetBundle) -> list[RunSpec]:
    """Every run the audit trains: K per method and epsilon, on ``bundle``."""
    layout = make_layout(bundle, config.pool, config.canaries)
    insides = memberships(layout.kind, config.pool, [m.name for m in config.methods])
    return [spec for group in pool_specs(config, layout, insides).values() for spec in group]


def check_before_training(config: Config, layout: Layout, specs: Pools) -> None:
    """Refuse, before any training, a target epsilon the accountant cannot reach for a pool's
    runs (``training.privacy.Unreachable``, naming the smallest it reaches) and an SSL
    measurement that cannot work (identical views, a tap the architecture lacks)."""
    for (method, epsilon), group in specs.items():
        first = group[0].config
        if first.privacy is not None:
            for n in sorted({len(spec.config.data.subset or []) for spec in group}):
                Accounting.calibrate(first.privacy, n, first.batch_size, first.epochs)
        if not config.is_supervised(method) and epsilon == config.epsilons[0]:
            options = sslmem.measure_options(measure_view(config, first))
            try:
                sslmem.check_before_training(first, Planted(layout.bundle), layout.images[:16],
                                             options)  # fmt: skip
            except ValueError as error:
                raise ValueError(f"method {method!r}: {error}") from None


def canary_table(layout: Layout) -> pd.DataFrame:
    """One row per canary: position (in the arrays), id, kind, label trained on, true label."""
    train = layout.bundle.train
    return pd.DataFrame({"position": np.arange(len(layout.candidates)),
                         "id": train.ids[layout.candidates].numpy(), "kind": layout.kind,
                         "label": layout.labels.numpy(),
                         "true_label": layout.true_label})  # fmt: skip


def statistic(config: Config, method: str, runs: list[TrainResult], layout: Layout,
              device: torch.device) -> np.ndarray:  # fmt: skip
    """float64 ``[K, N]``: the atlas's membership statistic of every model and canary: the
    logit-scaled probability of the label trained on (a classifier; larger = member) or the
    alignment loss averaged over ``measure.pairs`` view pairs (an SSL encoder; smaller =
    member)."""
    networks = sslmem.load_networks(runs, "final", device)
    if config.is_supervised(method):
        return logit_scale(feldman.true_label_probability(networks, layout.images,
                                                          layout.labels))  # fmt: skip
    options = sslmem.measure_options(measure_view(config, runs[0].config))
    losses = alignment_losses(networks, layout.images, device=device, **options)
    return losses.numpy().astype(np.float64)


def pool_delta(config: Config, records: list[dict[str, Any]], n: int) -> float:
    """The delta of a pool: the largest its DP-SGD runs recorded (``records``); for a pool
    without DP-SGD, the one its DP-SGD twin uses (``dp.delta``, else 1/n, n = a model's
    training images)."""
    if records:
        return float(max(record["delta"] for record in records))
    return float(config.dp["delta"]) if config.dp.get("delta") is not None else 1.0 / n


def audit_row(
    config: Config,
    method: str,
    epsilon: float,
    values: np.ndarray,
    inside: np.ndarray,
    layout: Layout,
    runs: list[RunDir],
) -> dict[str, Any]:
    """One pool's row: the accountant's epsilon (the largest its runs spent), the attack's ROC
    on the audited canaries, and the empirical lower bound (module docstring)."""
    audited = np.isin(layout.kind, config.audited_kinds(method))
    scores = lira_ratios(values, inside, variant=config.audit.variant,
                         statistic_high=config.is_supervised(method))[:, audited]  # fmt: skip
    member = inside[:, audited]
    finite = np.isfinite(scores)
    records = [record for record in (run.read_meta().get("privacy") for run in runs) if record]
    delta = pool_delta(config, records, len(model_subset(layout, inside, 0)))
    found = epsilon_lower_bound(scores[finite & member], scores[finite & ~member], delta=delta,
                                confidence=config.audit.confidence,
                                seed=config.audit.seed)  # fmt: skip
    curve = roc(scores[finite], member[finite])
    spent = max((record["epsilon"] for record in records), default=math.inf)
    return {
        "pool": row_name(method, epsilon), "method": method, "epsilon_target": epsilon,
        "epsilon_accountant": spent, "delta": delta,
        "noise_multiplier": max((r["noise_multiplier"] for r in records), default=0.0),
        "noise_applied": max((r.get("noise_multiplier_applied", r["noise_multiplier"])
                              for r in records), default=0.0),
        "epsilon_lower": found.epsilon, "epsilon_point": point_epsilon(found.tpr, found.fpr, delta),
        "confidence": found.confidence, "exceeds": bool(found.epsilon > spent),
        "threshold": found.threshold, "tpr": found.tpr, "tpr_low": found.tpr_low,
        "fpr": found.fpr, "fpr_high": found.fpr_high, "true_positives": found.true_positives,
        "positives": found.positives, "false_positives": found.false_positives,
        "negatives": found.negatives, "thresholds_tried": found.tried,
        "correction": found.method, "auc": curve.auc,
        **{f"tpr_at_{100 * f:g}%": curve.tpr_at(f) for f in FPRS},
        "trials": int(finite.sum()), "canaries": int(audited.sum()),
        "canary_kinds": ", ".join(config.audited_kinds(method)),
        "models": int(inside.shape[0]), "variant": config.audit.variant,
    }  # fmt: skip


def point_epsilon(tpr: float, fpr: float, delta: float) -> float:
    """log((TPR - delta) / FPR) at the bound's threshold from the point rates of the evaluation
    canaries (no confidence: the upper end the bound approaches with many canaries); 0 when
    TPR <= delta, infinity when no OUT canary passes."""
    if tpr <= delta:
        return 0.0
    return math.inf if fpr == 0 else max(0.0, math.log((tpr - delta) / fpr))
