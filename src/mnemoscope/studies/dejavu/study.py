"""``run``: paper 002's table 4, SSLMem beside Déjà Vu memorization (Meehan et al. 2023).

1. Split the training set into A's half, B's half and a labelled public set (disjoint), and
   draw the scored sample of A's half (and, for SSLMem's scale, as many of B's and the public's).
2. Per method and seed, train A on A's half and B on B's half with the engine (under
   ``out/runs/``: a second run reuses them).
3. Déjà Vu (``measure.dejavu``): A and B guess the labels of the periphery crops of A's scored
   images by kNN among the full public images; the gap of their accuracies, and each image's
   group (memorized, correlated, misrepresented, unassociated).
4. SSLMem of the same images, without more training: A and B are an f/g pair in the sense of
   paper 002 (A trained on the image, B did not), so eq. 2 with f = A and g = B,

       m(x) = L_align(B, x) - L_align(A, x),

   measured by the sslmem study's own functions (``measure_auto``, ``scores_table``,
   ``method_row``): the scored A images are its candidates S_C, the B images its S_I and the
   public images its S_E; the score is normalized by its range over all three (appendix A).
   Unlike the paper's f and g, A and B share no training image (S_S is empty): this is the
   disjoint-halves setting of paper 002's appendix ("Disjoint subsets between f and g"), which
   the paper notes attributes differences less precisely to single points; only the plain
   estimate exists.
5. Probe accuracy of A (linear or kNN, fitted on A's half, tested on the test split).
6. Tables ``sslmem_dejavu`` (table 4), ``sslmem_dejavu_seeds`` and ``sslmem_dejavu_images``
   (per-image flags), the figure, and ``summary.json`` with the spread over seeds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from scipy import stats

from mnemoscope import data, models
from mnemoscope.analysis import reliability
from mnemoscope.analysis.power import mde_mean
from mnemoscope.measure import probes
from mnemoscope.measure.alignment import check_measurement, resolve_tap
from mnemoscope.measure.dejavu import GROUPS, DejaVu, central_box, dejavu
from mnemoscope.store import json_safe
from mnemoscope.studies.config import StudyTrain
from mnemoscope.studies.dejavu.config import Config
from mnemoscope.studies.dejavu.figures import draw_figures
from mnemoscope.studies.dejavu.summary import DejaVuSummary
from mnemoscope.studies.frame import Frame
from mnemoscope.studies.sslmem import compare, tables
from mnemoscope.studies.sslmem import study as sslmem
from mnemoscope.studies.sslmem.config import Config as SSLMemConfig
from mnemoscope.training import RunSpec, TrainConfig, TrainResult, prepare


def run(config: Config, frame: Frame) -> DejaVuSummary:
    """Run the study in ``frame``; trainings live in ``OUT/runs/``."""
    # Everything that can refuse the input comes before the first write (frame.start).
    bundle = data.load(config.data.name, **config.data.options)
    halves = make_halves(bundle, config)
    points, images = scored_points(bundle, halves, config)
    trains = config.method_trains()
    specs = {name: (side_specs(config, train, halves["A"]), side_specs(config, train, halves["B"]))
             for name, train in trains.items()}  # fmt: skip
    check_before_training(config, bundle, specs, images)
    run_dir = frame.start(config.train.device)
    device = frame.device
    frame.steps(3 * len(trains))

    rows, seed_rows, image_frames = [], [], []
    for name, train in trains.items():
        a_specs, b_specs = specs[name]
        a_runs = frame.train(a_specs, bundle=bundle, advance=False)
        b_runs = frame.train(b_specs, bundle=bundle, advance=False)
        frame.advance()
        with run_dir.timed(f"scoring {name}"):
            sslmem_row, scores = score_sslmem(config, train, a_runs, b_runs, points, images,
                                              device)  # fmt: skip
            results = score_dejavu(config, a_runs, b_runs, bundle, halves, device)
        frame.advance()
        accuracies = [probe_accuracy(config, run, bundle, halves["A"], device)
                      for run in a_runs]  # fmt: skip
        rows.append(table_row(name, train, config, sslmem_row, results, accuracies))
        seed_rows += seed_table_rows(name, config, results, accuracies)
        image_frames.append(image_table(name, config, results, points, scores))
        frame.advance()
    run_dir.save_table("sslmem_dejavu", pd.DataFrame(rows))
    run_dir.save_table("sslmem_dejavu_seeds", pd.DataFrame(seed_rows))
    run_dir.save_table("sslmem_dejavu_images", pd.concat(image_frames, ignore_index=True))
    draw_figures(run_dir)
    return study_summary(pd.DataFrame(rows), pd.DataFrame(seed_rows), halves, bundle)


# --- splits and training ---------------------------------------------------------------------


def make_halves(bundle: data.DatasetBundle, config: Config) -> dict[str, torch.Tensor]:
    """Disjoint sorted train positions: ``A`` and ``B`` (the halves), ``public``, and
    ``scored`` (the sample of A scored), ``scored_B`` and ``scored_public`` (as many of B and
    the public set, for SSLMem's scale). Deterministic in ``splits.seed``."""
    splits = config.splits
    labels = bundle.train.labels
    sizes = {"A": splits.half, "B": splits.half, "public": splits.public}
    parts = data.split(len(labels), sizes, seed=splits.seed,
                       stratify_labels=labels if splits.stratify else None)  # fmt: skip
    if len(parts["public"]) < config.dejavu.k:
        raise ValueError(
            f"dejavu.k = {config.dejavu.k} is more than the {len(parts['public'])} public images "
            "(splits.public): lower dejavu.k or enlarge splits.public"
        )
    scored = config.dejavu.scored
    if scored is not None and scored > len(parts["A"]):
        raise ValueError(
            f"dejavu.scored = {scored} is more than the {len(parts['A'])} images of A's half "
            "(splits.half): score at most that many, or null for all of them"
        )
    count = min(scored or len(parts["A"]), len(parts["A"]))
    for name, source in (("scored", "A"), ("scored_B", "B"), ("scored_public", "public")):
        pool = parts[source]
        take = min(count, len(pool))
        parts[name] = pool if take == len(pool) else data.split(
            pool, {name: take}, seed=splits.seed + 1,
            stratify_labels=labels[pool] if splits.stratify else None)[name]  # fmt: skip
    return parts


def side_specs(config: Config, train: StudyTrain, half: torch.Tensor) -> list[RunSpec]:
    """One run per seed of ``train`` on the training positions ``half``."""
    return [RunSpec(train.run_config(config.data, half.tolist(), seed=seed))
            for seed in config.seeds]  # fmt: skip


def study_specs(config: Config, bundle: data.DatasetBundle) -> list[RunSpec]:
    """Every run the study trains: A and B of every method and seed."""
    halves = make_halves(bundle, config)
    return [spec for train in config.method_trains().values() for half in (halves["A"],
            halves["B"]) for spec in side_specs(config, train, half)]  # fmt: skip


def scored_points(
    bundle: data.DatasetBundle, halves: dict[str, torch.Tensor], config: Config
) -> tuple[pd.DataFrame, torch.Tensor]:
    """The points SSLMem scores, in the sslmem study's terms: A's scored images as S_C (f = A
    trained on them), B's as S_I, the public ones as S_E; (id, subset, kind, label) and
    images."""
    frames, images = [], []
    for subset, part in (("S_C", "scored"), ("S_I", "scored_B"), ("S_E", "scored_public")):
        index = halves[part]
        frames.append(pd.DataFrame({"id": bundle.train.ids[index].numpy(), "subset": subset,
                                    "kind": tables.ORDINARY,
                                    "label": bundle.train.labels[index].numpy()}))  # fmt: skip
        images.append(bundle.train.images[index])
    return pd.concat(frames, ignore_index=True), torch.cat(images)


def sslmem_view(config: Config, train: StudyTrain) -> SSLMemConfig:
    """The sslmem study's config with this method's training and the measurement: what its
    ``measure_options`` and ``measure_auto`` read."""
    return SSLMemConfig(data=config.data, train=train, seeds=config.seeds,
                        measure=config.measure)  # fmt: skip


def check_before_training(
    config: Config,
    bundle: data.DatasetBundle,
    specs: dict[str, tuple[list[RunSpec], list[RunSpec]]],
    images: torch.Tensor,
) -> None:
    """Refuse, before training, a measurement that cannot work: a ``dejavu.box`` that masks
    no pixel or every pixel of the images, identical SSLMem views, a tap (``measure.tap``,
    ``dejavu.tap``) the method's architecture lacks."""
    try:
        central_box(images.shape[-2], images.shape[-1], config.dejavu.box)
    except ValueError as error:
        raise ValueError(f"dejavu.{error}") from None
    trains = config.method_trains()
    for name, (a_specs, _) in specs.items():
        options = sslmem.measure_options(sslmem_view(config, trains[name]))
        try:
            check_measurement(images, options["augment"], options["reference"])
            network_config = prepare(a_specs[0], bundle).network_config
            with torch.device("meta"):  # shapes only: no memory, no random draws
                network = models.build(**network_config)
            for tap in (options["tap"], config.dejavu.tap):
                resolve_tap(network, tap)
        except ValueError as error:
            raise ValueError(f"method {name!r}: {error}") from None


# --- measurements ----------------------------------------------------------------------------


def score_sslmem(
    config: Config,
    train: TrainConfig,
    a_runs: list[TrainResult],
    b_runs: list[TrainResult],
    points: pd.DataFrame,
    images: torch.Tensor,
    device: torch.device,
) -> tuple[dict, pd.DataFrame]:
    """SSLMem with f = A, g = B (module docstring): table 1's columns (``compare.method_row``,
    with the per-image reliability) and the per-point scores."""
    view = sslmem_view(config, train)
    options = sslmem.measure_options(view)
    tap = config.measure.tap
    by_pairs, _ = sslmem.measure_auto(view, a_runs, b_runs, images, points, options, [tap],
                                      device)  # fmt: skip
    pairs_a, pairs_b = by_pairs[tap]
    align_a, align_b = pairs_a.mean(axis=2), pairs_b.mean(axis=2)
    scores = tables.scores_table(points, align_a, align_b, ["plain"])
    row = compare.method_row(train, scores, align_a, align_b, "plain")
    noise = reliability.split_half(pairs_a, pairs_b, tables.candidate_mask(points))
    return {**row, "pairs": noise.pairs, "reliability": noise.reliability}, scores


def score_dejavu(
    config: Config,
    a_runs: list[TrainResult],
    b_runs: list[TrainResult],
    bundle: data.DatasetBundle,
    halves: dict[str, torch.Tensor],
    device: torch.device,
) -> list[DejaVu]:
    """Déjà Vu of A_k against B_k per seed k on A's scored images."""
    train_set = bundle.train
    scored, public = halves["scored"], halves["public"]
    options = config.dejavu
    results = []
    for a_network, b_network in zip(sslmem.load_networks(a_runs, "final", device),
                                    sslmem.load_networks(b_runs, "final", device),
                                    strict=True):  # fmt: skip
        results.append(dejavu(
            a_network, b_network, train_set.images[scored], train_set.labels[scored],
            train_set.images[public], train_set.labels[public], k=options.k, box=options.box,
            fill=options.fill, tap=options.tap, num_classes=len(bundle.classes),
            batch_size=options.batch_size, device=device,
        ))  # fmt: skip
    return results


def probe_accuracy(
    config: Config,
    result: TrainResult,
    bundle: data.DatasetBundle,
    half: torch.Tensor,
    device: torch.device,
) -> float:
    """Test accuracy of a probe of A's embedding fitted on A's half (linear, or kNN k = 20)."""
    network = sslmem.load_networks([result], "final", device)[0]
    fit = (bundle.train.images[half], bundle.train.labels[half])
    return probes.accuracy(network, fit, bundle.test, config.probe, "embedding")


# --- tables ----------------------------------------------------------------------------------


def _std(values: list[float]) -> float:
    return float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")


def table_row(
    name: str,
    train: TrainConfig,
    config: Config,
    sslmem_row: dict,
    results: list[DejaVu],
    accuracies: list[float],
) -> dict:
    """One row of table 4: method, SSLMem (+- over seeds), Déjà Vu (+- over seeds, its one-sided
    t-test over seeds and that test's minimum detectable gap, ``power.mde_mean``), probe
    accuracy (+- over seeds), and the mean fraction of A's images in each group."""
    gaps = [result.score for result in results]
    test = _gap_test(gaps)
    row = {
        "method": name, "objective": train.objective.name, "architecture": train.model.name,
        "epochs": train.epochs, "seeds": len(results), "n_scored": len(results[0].labels),
        "sslmem": sslmem_row["score_norm_mean"],
        "sslmem_seed_std": sslmem_row["score_norm_seed_std"],
        "sslmem_raw": sslmem_row["score_raw_mean"], "sslmem_pairs": sslmem_row["pairs"],
        "sslmem_reliability": sslmem_row["reliability"],
        "dejavu": float(np.mean(gaps)), "dejavu_seed_std": _std(gaps),
        "dejavu_t": test[0], "dejavu_p": test[1], "dejavu_mde": mde_mean(_std(gaps), len(gaps)),
        "accuracy_a": float(np.mean([r.accuracy_a for r in results])),
        "accuracy_b": float(np.mean([r.accuracy_b for r in results])),
    }  # fmt: skip
    for group in GROUPS:
        row[f"fraction_{group}"] = float(np.mean([r.fractions()[group] for r in results]))
    row.update(k=config.dejavu.k, box=config.dejavu.box, probe=config.probe,
               probe_accuracy=float(np.mean(accuracies)), probe_accuracy_seed_std=_std(accuracies))
    return row


def _gap_test(gaps: list[float]) -> tuple[float, float]:
    """One-sided t-test over seeds that the Déjà Vu gap is above 0 (NaN for one seed or no
    spread)."""
    if len(gaps) < 2 or np.std(gaps) == 0:
        return float("nan"), float("nan")
    result = stats.ttest_1samp(gaps, 0.0, alternative="greater")
    return float(result.statistic), float(result.pvalue)


def seed_table_rows(
    name: str, config: Config, results: list[DejaVu], accuracies: list[float]
) -> list[dict]:
    """Per method and seed: Déjà Vu, both accuracies, the groups, probe accuracy."""
    rows = []
    for seed, result, accuracy in zip(config.seeds, results, accuracies, strict=True):
        rows.append({"method": name, "seed": seed, "dejavu": result.score,
                     "accuracy_a": result.accuracy_a, "accuracy_b": result.accuracy_b,
                     **{f"fraction_{g}": v for g, v in result.fractions().items()},
                     "probe_accuracy": accuracy})  # fmt: skip
    return rows


def image_table(
    name: str, config: Config, results: list[DejaVu], points: pd.DataFrame, scores: pd.DataFrame
) -> pd.DataFrame:
    """Per method, seed and scored A image: both guesses, their confidence (the share of the
    k neighbours that voted for the guess), the group, and the image's SSLMem."""
    candidates = tables.candidate_mask(points)
    base = points.loc[candidates, ["id", "label"]].reset_index(drop=True)
    sslmem_norm = scores.loc[candidates, "score_norm"].to_numpy()
    frames = []
    for seed, result in zip(config.seeds, results, strict=True):
        frames.append(base.assign(
            method=name, seed=seed,
            predicted_a=result.a.predicted, confidence_a=result.a.confidence,
            predicted_b=result.b.predicted, confidence_b=result.b.confidence,
            correct_a=result.correct_a, correct_b=result.correct_b, group=result.groups(),
            sslmem=sslmem_norm,
        ))  # fmt: skip
    columns = ["method", "seed", "id", "label"]
    frame = pd.concat(frames, ignore_index=True)
    return frame[columns + [c for c in frame.columns if c not in columns]]


def study_summary(
    table: pd.DataFrame,
    seeds: pd.DataFrame,
    halves: dict[str, torch.Tensor],
    bundle: data.DatasetBundle,
) -> DejaVuSummary:
    """``summary.json``: table 4's rows and one headline per method with the seeds' spread."""
    lines = []
    for row in table.itertuples():
        p_value = f"p = {row.dejavu_p:.2g}" if not np.isnan(row.dejavu_p) else "no test"
        lines.append(
            f"table 4 [{row.method}] {row.objective} on {row.architecture}, {row.seeds} "
            f"seed{'s' if row.seeds != 1 else ''}: "
            f"Déjà Vu {100 * row.dejavu:+.1f}% +- {100 * row.dejavu_seed_std:.1f}% (seeds; "
            f"A {100 * row.accuracy_a:.1f}% vs B {100 * row.accuracy_b:.1f}% on "
            f"{row.n_scored} of A's images, k = {row.k}; gap > 0 over seeds: {p_value}); "
            f"memorized (A right, B wrong) {100 * row.fraction_memorized:.1f}%; SSLMem "
            f"{row.sslmem:+.3f} +- {row.sslmem_seed_std:.3f}; {row.probe} probe accuracy "
            f"{100 * row.probe_accuracy:.1f}% +- {100 * row.probe_accuracy_seed_std:.1f}%"
        )
    return DejaVuSummary.model_validate(json_safe({
        "table4": table.to_dict(orient="records"), "per_seed": seeds.to_dict(orient="records"),
        "sizes": {name: len(index) for name, index in halves.items()},
        "classes": list(bundle.classes), "headlines": lines,
    }))  # fmt: skip
