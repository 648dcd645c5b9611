"""``run``: the SSLMem study of paper 002, from splits to figures.

1. Split the data (S_S, S_C, S_I, S_E) and plant known atypical images into S_C if asked.
2. Train K encoders f on S_S + S_C and K encoders g on S_S + S_I with the engine (under
   ``out/runs/``: a second run reuses them), keeping checkpoints at ``over_training.epochs``.
3. Measure eq. 1 for every encoder on every scored point with the same views (common random
   numbers), and eq. 2 per estimate (plain, and ``shared``-centered if asked).
4. Tables: scores, t-tests (tables 2, 16), summary with bootstrap intervals, planted AUROCs.
5. Fig. 2b: scores, loss and probe accuracy at the saved epochs.
   Table 1 / fig. 4 (``compare``): the base and every variant's f and g, scored the same way.
6. Appendix B.3: supervised f' and g' on the same splits, Feldman's memorization, rankings;
   table 13: the rankings of every pair of trainings (``compare.agreement_table``).
7. Figures (``draw_figures``, from the stored tables only) and ``summary.json``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from mnemoscope import data, models
from mnemoscope.analysis import reliability
from mnemoscope.measure import probes
from mnemoscope.measure.alignment import (
    DEFAULT_PAIRS,
    SCORERS,
    alignment_losses_by_tap,
    check_measurement,
    memorization_score,
)
from mnemoscope.store import RunDir, json_safe
from mnemoscope.studies.frame import Frame
from mnemoscope.studies.sslmem import compare, feldman, layers, roles, tables, units
from mnemoscope.studies.sslmem.config import Config
from mnemoscope.studies.sslmem.figures import draw_figures
from mnemoscope.studies.sslmem.planted import Planted, held_out_class, plant, planted_recipe
from mnemoscope.studies.sslmem.splits import Splits, make_splits
from mnemoscope.studies.sslmem.summary import SSLMemSummary
from mnemoscope.training import RunSpec, TrainConfig, TrainResult, load_network, prepare
from mnemoscope.training.config import epoch_checkpoint
from mnemoscope.training.objectives import default_augment


def run(config: Config, frame: Frame) -> SSLMemSummary:
    """Run the study in ``frame``; trainings live in ``OUT/runs/``."""
    out = frame.path
    # Everything that can refuse the input comes before the first write (frame.start): a bad
    # rerun leaves a finished study directory as it was, COMPLETE included.
    bundle = data.load(config.data.name, **config.data.options)
    splits = make_splits(bundle, config.splits, held_out_class(config.planted, bundle))
    planted = plant(bundle, splits, config.planted)
    f_configs = [encoder_config(config, splits, planted, seed, "f") for seed in config.seeds]
    g_configs = [encoder_config(config, splits, planted, seed, "g") for seed in config.seeds]
    feldman_seeds = (config.feldman.seeds or config.seeds) if config.feldman.enabled else []
    sup_f = [feldman.supervised_config(config, f_configs[0], seed) for seed in feldman_seeds]
    sup_g = [feldman.supervised_config(config, g_configs[0], seed) for seed in feldman_seeds]
    points, images = scored_points(planted.bundle, splits, planted)
    options = measure_options(config)
    layer_of = check_before_training(f_configs[0], planted, images, options,
                                     config.measure.extra_taps)  # fmt: skip
    depth = tap_depths(f_configs[0], planted, layer_of)
    unit_layers = check_before_training(f_configs[0], planted, images, options,
                                        config.unitmem.taps) if config.unitmem.enabled else {}
    compare.check_variants(config, splits, planted, images)
    epochs = [e for e in config.over_training.epochs if e < config.train.epochs]
    steps = len(f_configs) * 2 + len(sup_f) * 2 + 2 + (len(epochs) + 1 if epochs else 0)
    steps += compare.progress_steps(config)
    run_dir = frame.start(config.train.device)
    device = frame.device
    frame.steps(steps)
    advance = frame.advance
    recipe = planted_recipe(config.planted, config.splits)

    def train_runs(configs: list[TrainConfig]) -> list[TrainResult]:
        return frame.train([RunSpec(c, recipe) for c in configs], bundle=bundle)

    f_runs, g_runs = train_runs(f_configs), train_runs(g_configs)
    run_dir.save_table("sslmem_runs", roles.runs_table(out, {"f": f_runs, "g": g_runs}))
    taps = list(layer_of)  # the headline tap first
    with run_dir.timed("scoring"):
        by_pairs, draws = measure_auto(config, f_runs, g_runs, images, points, options, taps,
                                       device)  # fmt: skip
    options = {**options, "pairs": draws}  # every later measurement: the very same views
    run_dir.update_meta(view_draws=draws)  # pairs per draw (measure_pairs): the views
    by_tap = {tap: (f.mean(axis=2), g.mean(axis=2)) for tap, (f, g) in by_pairs.items()}
    align_f, align_g = by_tap[config.measure.tap]
    run_dir.save_array("align_f", align_f)
    run_dir.save_array("align_g", align_g)
    run_dir.save_array("align_pairs_f", by_pairs[config.measure.tap][0])
    run_dir.save_array("align_pairs_g", by_pairs[config.measure.tap][1])
    reliable = tables.reliability_table(points, by_pairs, config.measure)
    reliable.insert(1, "layer", reliable["tap"].map(layer_of))
    run_dir.save_table("sslmem_reliability", reliable)
    in_candidates = torch.tensor((points["subset"] == "S_C").to_numpy())
    run_dir.save_array("candidate_images", images[in_candidates])
    centers = list(config.measure.center)
    scores = tables.scores_table(points, align_f, align_g, centers)
    run_dir.save_table("sslmem_scores", scores)
    tests = tables.tests_table(scores, centers, config.stats)
    run_dir.save_table("sslmem_tests", tests)
    summary = tables.summary_table(scores, align_f, align_g, centers, config.stats)
    run_dir.save_table("sslmem_summary", summary)
    planted_aurocs = tables.planted_table(scores)
    if config.planted.kinds:
        run_dir.save_table("sslmem_planted", planted_aurocs)
    per_tap = None
    if config.measure.extra_taps:  # which layer memorizes, on the very same views
        per_tap = layers.taps_table(points, by_tap, centers[0], config.stats, depth)
        per_tap.insert(1, "layer", per_tap["tap"].map(layer_of))
        per_tap["reliability"] = reliable["reliability"].to_numpy()
        run_dir.save_table("sslmem_taps", per_tap)
    unit_lines = []
    if config.unitmem.enabled:  # where memorization lives, unit by unit: no training
        with run_dir.timed("unitmem"):
            unit_lines = score_units(run_dir, config, f_runs, points, images, unit_layers,
                                     options, device)  # fmt: skip
    advance()

    if epochs:
        with run_dir.timed("scores and probes over training"):
            over_training = score_over_training(config, f_runs, g_runs, epochs, points, images,
                                                (align_f, align_g), splits, planted, device,
                                                advance, options)  # fmt: skip
        run_dir.save_table("sslmem_over_training", over_training)

    # table 1, fig. 4: every training of `compare` on the same splits, scored the same way
    base_pairs = by_pairs[config.measure.tap]
    with run_dir.timed("scoring other methods"):  # their training is "training"
        methods, method_scores = compare.score_methods(config, splits, planted, points, images,
                                                       (f_runs, g_runs), base_pairs, train_runs,
                                                       device, draws)  # fmt: skip
    run_dir.save_table("sslmem_methods", methods)
    run_dir.save_table("sslmem_method_scores", method_scores)

    ranking = comparison = None
    supervised = float("nan")
    if sup_f:
        sup_f_runs, sup_g_runs = train_runs(sup_f), train_runs(sup_g)
        run_dir.save_table("sslmem_runs", roles.runs_table(out, {
            "f": f_runs, "g": g_runs, "f-supervised": sup_f_runs, "g-supervised": sup_g_runs,
        }))  # fmt: skip
        with run_dir.timed("Feldman scoring"):
            comparison, supervised = compare_with_feldman(scores, points, images, sup_f_runs,
                                                          sup_g_runs, options, device)  # fmt: skip
        run_dir.save_table("sslmem_feldman", comparison)
        noise = {"sslmem": float(reliable["reliability"].iloc[0]),
                 "sslmem_supervised": supervised, "feldman": 1.0}  # fmt: skip
        ranking = feldman.ranking_table(comparison, config.stats.top_ks, reliabilities=noise)
        run_dir.save_table("sslmem_ranking", ranking)

    agreement = compare.agreement_table(method_scores, comparison, config.stats.top_ks,
                                        methods, supervised)  # fmt: skip
    if agreement is not None:
        run_dir.save_table("sslmem_agreement", agreement)  # table 13
    with run_dir.timed("figures"):
        draw_figures(run_dir, list(bundle.classes))
    advance()
    return study_summary(summary, tests, planted_aurocs, ranking, centers, bundle, methods,
                         agreement, tap=layers.tap_label(config.measure.tap,
                                                         layer_of[config.measure.tap]),
                         per_tap=per_tap, reliable=reliable, extra=unit_lines)  # fmt: skip


# --- training configs ------------------------------------------------------------------------


def study_specs(config: Config, bundle: data.DatasetBundle) -> list[RunSpec]:
    """Every run the study trains (f and g, every compared variant's, Feldman's supervised
    pairs), on ``bundle`` (the dataset ``config.data`` names)."""
    splits = make_splits(bundle, config.splits, held_out_class(config.planted, bundle))
    planted = plant(bundle, splits, config.planted)
    configs = []
    for train in config.variant_trains().values():
        variant = compare.variant_study(config, train)
        for side in ("f", "g"):
            configs += [encoder_config(variant, splits, planted, seed, side)
                        for seed in config.seeds]  # fmt: skip
    if config.feldman.enabled:
        for side in ("f", "g"):
            ssl = encoder_config(config, splits, planted, config.seeds[0], side)
            configs += [feldman.supervised_config(config, ssl, seed)
                        for seed in config.feldman.seeds or config.seeds]  # fmt: skip
    recipe = planted_recipe(config.planted, config.splits)
    return [RunSpec(train_config, recipe) for train_config in configs]


def encoder_config(
    config: Config, splits: Splits, planted: Planted, seed: int, side: str
) -> TrainConfig:
    """f (side "f": S_S + S_C + planted) or g (side "g": S_S + S_I) of seed ``seed``."""
    extra = torch.cat([splits.candidates, planted.all_index]) if side == "f" else splits.independent
    subset = torch.cat([splits.shared, extra]).sort().values.tolist()
    save_epochs = [e for e in config.over_training.epochs if e < config.train.epochs]
    return config.train.run_config(config.data, subset, seed=seed, save_epochs=save_epochs)


# --- the scored points and eq. 1 -------------------------------------------------------------


def scored_points(
    bundle: data.DatasetBundle, splits: Splits, planted: Planted
) -> tuple[pd.DataFrame, torch.Tensor]:
    """The scored points in subset order S_C (ordinary, then planted), S_I, S_S, S_E: a frame
    (id, subset, kind, label) and their uint8 images."""
    parts = [("S_C", "ordinary", bundle.train, splits.candidates)]
    parts += [("S_C", kind, bundle.train, index) for kind, index in planted.index.items()]
    parts += [("S_I", "ordinary", bundle.train, splits.independent),
              ("S_S", "ordinary", bundle.train, splits.scored_shared),
              ("S_E", "ordinary", bundle.test, splits.extra)]  # fmt: skip
    frames, images = [], []
    for subset, kind, image_set, index in parts:
        frames.append(pd.DataFrame({
            "id": image_set.ids[index].numpy(), "subset": subset, "kind": kind,
            "label": image_set.labels[index].numpy(),
        }))  # fmt: skip
        images.append(image_set.images[index])
    return pd.concat(frames, ignore_index=True), torch.cat(images)


def measure_options(config: Config) -> dict[str, Any]:
    """Keyword arguments of ``alignment_losses``: the training augmentation by default, the
    scorer's own options for a named scorer (``SCORERS``). ``pairs`` may be ``auto`` (resolved
    by ``measure_auto``) or a list of draws (``measure_pairs``)."""
    measure = config.measure
    if measure.augment is not None:
        augment = measure.augment.model_dump(mode="json")
    elif config.train.augment is not None:
        augment = config.train.augment.model_dump(mode="json")
    else:
        augment = default_augment(config.train.objective.name)
    options = dict(augment=augment, pairs=measure.pairs, reference=measure.reference,
                   distance=measure.distance, tap=measure.tap, seed=measure.seed,
                   batch_size=measure.batch_size, precision=measure.precision)  # fmt: skip
    return {**options, **SCORERS[measure.scorer]}


def check_before_training(
    train_config: TrainConfig,
    planted: Planted,
    images: torch.Tensor,
    options: dict[str, Any],
    extra_taps: list[str] | str = (),
) -> dict[str, str]:
    """Refuse a measurement that cannot work (identical views, unknown tap) before training;
    return the layer each tap reads (``auto`` -> ``layer4`` for a convnet), the headline tap
    first, then ``extra_taps`` (``all``: every other tap, ``layers.expand_taps``)."""
    check_measurement(images, options["augment"], options["reference"])
    return layers.expand_taps(meta_network(train_config, planted), options["tap"], extra_taps)


def meta_network(train_config: TrainConfig, planted: Planted) -> models.Network:
    """The network ``train_config`` trains, on the meta device: shapes only, no memory and
    no random draws."""
    network_config = prepare(train_config, planted.bundle).network_config
    with torch.device("meta"):
        return models.build(**network_config)


def tap_depths(train_config: TrainConfig, planted: Planted, layer_of: dict[str, str]) -> dict:
    """tap -> the position of the layer it reads in the network's computation order."""
    order = meta_network(train_config, planted).tap_names
    return {tap: order.index(layer) for tap, layer in layer_of.items()}


def score_units(
    run_dir: RunDir,
    config: Config,
    f_runs: list[TrainResult],
    points: pd.DataFrame,
    images: torch.Tensor,
    layer_of: dict[str, str],
    options: dict[str, Any],
    device: torch.device,
) -> list[str]:
    """UnitMem of the final f encoders (``units``): store its tables and the images of the
    most memorizing units; return the headline line."""
    networks = load_networks(f_runs, "final", device)
    per_unit = units.unit_table(networks, list(config.seeds), points, images, layer_of,
                                config.unitmem, options, device)  # fmt: skip
    summary = units.layer_summary(per_unit)
    top = units.top_units(per_unit, config.unitmem.top)
    run_dir.save_table("sslmem_unitmem", per_unit)
    run_dir.save_table("sslmem_unitmem_layers", summary)
    run_dir.save_table("sslmem_unitmem_top", top.drop(columns="top_position"))
    run_dir.save_array("unitmem_top_images", images[torch.tensor(top["top_position"]
                                                                     .to_numpy())])  # fmt: skip
    return [units.headline(summary, top)]


def load_networks(runs: list[TrainResult], checkpoint: str, device: torch.device) -> list:
    networks = [load_network(r.run.checkpoint_path(checkpoint), device) for r in runs]
    # channels_last is how the engine trains convnets and what oneDNN runs fastest on CPU
    return [network.to(memory_format=torch.channels_last) for network in networks]


def measure(
    f_runs: list[TrainResult],
    g_runs: list[TrainResult],
    checkpoint: str,
    images: torch.Tensor,
    options: dict[str, Any],
    device: torch.device,
) -> tuple[np.ndarray, np.ndarray]:
    """Eq. 1 of every f and g encoder at ``checkpoint`` on ``images``: two [K, N] arrays."""
    return measure_taps(f_runs, g_runs, checkpoint, images, options, [options["tap"]],
                        device)[options["tap"]]  # fmt: skip


def measure_taps(
    f_runs: list[TrainResult],
    g_runs: list[TrainResult],
    checkpoint: str,
    images: torch.Tensor,
    options: dict[str, Any],
    taps: list[str],
    device: torch.device,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``measure`` at several taps from one pass over the same views: tap -> (f, g) arrays."""
    by_tap = measure_pairs(f_runs, g_runs, checkpoint, images, options, taps, device)
    return {tap: (f.mean(axis=2), g.mean(axis=2)) for tap, (f, g) in by_tap.items()}


def measure_pairs(
    f_runs: list[TrainResult],
    g_runs: list[TrainResult],
    checkpoint: str,
    images: torch.Tensor,
    options: dict[str, Any],
    taps: list[str],
    device: torch.device,
    networks: list | None = None,
    first_draw: int = 0,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per-pair eq. 1 distances, tap -> (f ``[K, N, A]``, g ``[K, N, A]``). ``options["pairs"]``
    is A or a list of draws [A_0, A_1, ...] (draw d adds A_d pairs of new views): the same list
    gives the same views whatever else is scored. ``first_draw``: the index of the first."""
    networks = networks or load_networks(f_runs + g_runs, checkpoint, device)
    rest = {key: value for key, value in options.items() if key != "tap"}
    by_tap = alignment_losses_by_tap(networks, images, taps, device=device, per_pair=True,
                                     draw=first_draw, **rest)  # fmt: skip
    k = len(f_runs)
    return {tap: (losses[:k].numpy(), losses[k:].numpy()) for tap, losses in by_tap.items()}


def measure_auto(
    config: Config,
    f_runs: list[TrainResult],
    g_runs: list[TrainResult],
    images: torch.Tensor,
    points: pd.DataFrame,
    options: dict[str, Any],
    taps: list[str],
    device: torch.device,
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], list[int]]:
    """The final encoders' per-pair distances at every tap and the draws they took.

    A number of pairs is one draw. ``pairs: auto`` starts from the paper's 5 pairs and draws
    more until the headline tap's per-image score over the ordinary candidates reaches
    ``measure.target_reliability`` (``reliability.draw_until_reliable``); every tap gets the
    same views.
    """
    measure = config.measure
    networks = load_networks(f_runs + g_runs, "final", device)
    by_draw: list[dict[str, tuple[np.ndarray, np.ndarray]]] = []

    def draw(index: int, count: int) -> tuple[np.ndarray, np.ndarray]:
        by_draw.append(measure_pairs(f_runs, g_runs, "final", images, {**options, "pairs": count},
                                     taps, device, networks, first_draw=index))  # fmt: skip
        return by_draw[-1][measure.tap]

    auto = measure.pairs == "auto"
    _, _, draws = reliability.draw_until_reliable(
        draw, tables.candidate_mask(points),
        first=min(DEFAULT_PAIRS, measure.max_pairs) if auto else measure.pairs,
        target=measure.target_reliability if auto else 0.0,
        max_pairs=measure.max_pairs if auto else measure.pairs,
    )  # fmt: skip
    joined = {tap: tuple(np.concatenate([part[tap][side] for part in by_draw], axis=2)
                         for side in (0, 1)) for tap in taps}  # fmt: skip
    return joined, draws


# --- fig. 2b: over training ------------------------------------------------------------------


def score_over_training(
    config: Config,
    f_runs: list[TrainResult],
    g_runs: list[TrainResult],
    epochs: list[int],
    points: pd.DataFrame,
    images: torch.Tensor,
    final: tuple[np.ndarray, np.ndarray],
    splits: Splits,
    planted: Planted,
    device: torch.device,
    advance,
    options: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """One row per epoch (the saved ones, then the last): the mean normalized score of the
    ordinary candidates, of their most memorized fraction and of the scored S_S points; f's
    training loss and probe accuracy (means over seeds).

    Every epoch scores every scored point with the very same views as the main measurement
    (views depend on the seed and an image's position only), normalized as ``scores_table``
    does (range over the ordinary points, headline center): the last row, which reuses the
    main measurement ``final``, is the summary's S_C and S_S means, and differences between
    epochs are the encoders', not the views'.
    """
    options = options or measure_options(config)  # the main measurement's (resolved pairs)
    center = config.measure.center[0]
    losses = [r.metrics().set_index("epoch")["loss"] for r in f_runs]
    rows = []
    for epoch in [*epochs, config.train.epochs]:
        name = "final" if epoch == config.train.epochs else epoch_checkpoint(epoch)
        if name == "final":
            align_f, align_g = final
        else:
            align_f, align_g = measure(f_runs, g_runs, name, images, options, device)
        scores = tables.scores_table(points, align_f, align_g, [center])
        by_subset = tables.subset_scores(scores, "score_norm")
        candidates = by_subset["S_C"]
        top = max(1, round(config.over_training.top_fraction * len(candidates)))
        rows.append({
            "epoch": epoch, "score_mean": float(candidates.mean()),
            "score_top": float(np.sort(candidates)[-top:].mean()),
            "score_shared_mean": float(by_subset["S_S"].mean()),
            "score_raw_mean": float(tables.subset_scores(scores, "score_raw")["S_C"].mean()),
            "loss": float(np.mean([loss.loc[epoch] for loss in losses])),
            "probe_accuracy": probe_accuracy(config, f_runs, name, splits, planted, device),
        })  # fmt: skip
        advance()
    return pd.DataFrame(rows)


def probe_accuracy(
    config: Config,
    runs: list[TrainResult],
    checkpoint: str,
    splits: Splits,
    planted: Planted,
    device: torch.device,
    probe: str | None = None,
) -> float:
    """Mean over the f encoders of the kNN (k = 20) or linear-probe accuracy of the embedding:
    fitted on f's ordinary training images (S_S + S_C), evaluated on the test set (without a
    planted held-out class). ``probe``: knn or linear; None = ``over_training.probe``."""
    train_set, test_set = planted.bundle.train, planted.bundle.test
    fit = torch.cat([splits.shared, splits.candidates])
    test_index = torch.arange(len(test_set))
    excluded = held_out_class(config.planted, planted.bundle)
    if excluded is not None:
        test_index = test_index[test_set.labels != excluded]
    fit_set = (train_set.images[fit], train_set.labels[fit])
    test_subset = (test_set.images[test_index], test_set.labels[test_index])
    kind = probe or config.over_training.probe
    accuracies = [probes.accuracy(network, fit_set, test_subset, kind, "embedding")
                  for network in load_networks(runs, checkpoint, device)]  # fmt: skip
    return float(np.mean(accuracies))


# --- appendix B.3 ----------------------------------------------------------------------------


def compare_with_feldman(
    scores: pd.DataFrame,
    points: pd.DataFrame,
    images: torch.Tensor,
    sup_f: list[TrainResult],
    sup_g: list[TrainResult],
    options: dict[str, Any],
    device: torch.device,
) -> tuple[pd.DataFrame, float]:
    """Per ordinary candidate: id, label, sslmem (the SSL encoders' score), sslmem_supervised
    (SSLMem of the supervised encoders' embedding) and feldman; and the split-half reliability
    of sslmem_supervised. The ordinary candidates come first among the scored points, so they
    keep their views."""
    candidates = tables.candidate_mask(points)
    chosen = images[torch.tensor(candidates)]
    labels = torch.from_numpy(points["label"].to_numpy()[candidates])
    tap = options["tap"]
    pairs_f, pairs_g = measure_pairs(sup_f, sup_g, "final", chosen, options, [tap], device)[tap]
    align_f, align_g = pairs_f.mean(axis=2), pairs_g.mean(axis=2)
    f_networks = load_networks(sup_f, "final", device)
    g_networks = load_networks(sup_g, "final", device)
    frame = points.loc[candidates, ["id", "label"]].reset_index(drop=True)
    frame["sslmem"] = scores.loc[candidates, "score_raw"].to_numpy()
    frame["sslmem_supervised"] = memorization_score(align_f, align_g)
    frame["feldman"] = feldman.feldman_scores(f_networks, g_networks, chosen, labels)
    return frame, reliability.split_half(pairs_f, pairs_g).reliability


def study_summary(
    summary: pd.DataFrame,
    tests: pd.DataFrame,
    planted: pd.DataFrame,
    ranking: pd.DataFrame | None,
    centers: list[str],
    bundle: data.DatasetBundle,
    methods: pd.DataFrame | None = None,
    agreement: pd.DataFrame | None = None,
    *,
    tap: str = "auto",
    per_tap: pd.DataFrame | None = None,
    reliable: pd.DataFrame | None = None,
    extra: list[str] = (),
) -> SSLMemSummary:
    """``summary.json``: the headline numbers (scored at ``tap``) and one-line findings
    (table 1's rows from ``methods``, the tau range of ``agreement``, the other taps of
    ``per_tap``, the per-image reliability of every tap from ``reliable``, then ``extra``)."""
    numbers = tables.headline_numbers(summary, tests, planted, centers)
    numbers["tap"] = tap
    numbers["n"] = {
        row.subset: row.n for row in summary[summary["center"] == centers[0]].itertuples()
    }
    numbers["classes"] = list(bundle.classes)
    headlines = []
    for center in centers:
        means = numbers["mean_score"][center]
        test = numbers["ttest_candidates_vs_shared"][center]
        headlines.append(
            f"[{center}, tap {tap}] mean normalized score S_C {means['S_C']:+.3f}, "
            f"S_S {means['S_S']:+.3f}, S_E {means['S_E']:+.3f}, S_I {means['S_I']:+.3f}; "
            "m(S_C) > m(S_S): "
            f"t = {test['statistic']:.2f}, p = {test['p_value']:.2g}, d = {test['effect_size']:.2f}"
        )
    for kind, value in numbers["planted_auroc"].items():
        headlines.append(f"planted {kind}: AUROC {value:.3f} against ordinary candidates")
    if reliable is not None:
        numbers["reliability"] = reliable.to_dict(orient="records")
        headlines += tables.reliability_headlines(reliable)
    if per_tap is not None:
        headlines += layers.headlines(per_tap.iloc[1:])  # row 0 is the headline tap
        if "delta_layermem" in per_tap.columns:
            headlines.append(layers.layermem_headline(per_tap))
    headlines += extra  # e.g. UnitMem's line
    if ranking is not None:
        overall = ranking[(ranking["a"] == "sslmem") & (ranking["b"] == "feldman")].iloc[-1]
        ceiling = overall.get("tau_ceiling", float("nan"))
        numbers["feldman_tau"] = {"tau": overall["tau"], "p_value": overall["p_value"],
                                  "tau_ceiling": ceiling, "n": int(overall["k"])}  # fmt: skip
        headlines.append(
            f"SSLMem vs Feldman ranking of S_C: Kendall tau {overall['tau']:.3f} "
            f"(p = {overall['p_value']:.2g}; noise ceiling {ceiling:.3f})"
        )
    if methods is not None:
        method_numbers, method_lines = compare.headlines(methods, agreement)
        numbers.update(method_numbers)
        headlines += method_lines
    numbers["headlines"] = headlines
    return SSLMemSummary.model_validate(json_safe(numbers))
