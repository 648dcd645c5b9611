"""The SSLMem study: splits, planted images, config validation, and a tiny end-to-end run."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from pydantic import ValidationError
from typer.testing import CliRunner

from mnemoscope import data, scoring, studies
from mnemoscope.analysis import reliability
from mnemoscope.cli import app
from mnemoscope.measure.alignment import alignment_losses
from mnemoscope.store import RunDir
from mnemoscope.studies import sslmem
from mnemoscope.studies.sslmem import compare, roles, study, tables
from mnemoscope.studies.sslmem.config import PlantedConfig, SplitConfig
from mnemoscope.studies.sslmem.figures import draw_figures
from mnemoscope.studies.sslmem.planted import held_out_class, plant, planted_recipe
from mnemoscope.studies.sslmem.splits import make_splits
from mnemoscope.training import RunSpec, TrainConfig
from mnemoscope.training.config import epoch_checkpoint
from tests.studies.conftest import TINY_SSLMEM as TINY


@pytest.fixture(scope="module")
def fmnist():
    return data.load("fmnist-mini")


def test_splits_are_deterministic_disjoint_and_sized(fmnist):
    config = SplitConfig(shared=600, candidates=100, independent=100, extra=80, scored_shared=90)
    first, again = make_splits(fmnist, config), make_splits(fmnist, config)
    other = make_splits(fmnist, config.model_copy(update={"seed": 1}))
    for name in ("shared", "candidates", "independent", "extra", "scored_shared"):
        assert torch.equal(getattr(first, name), getattr(again, name))
    assert not torch.equal(first.candidates, other.candidates)
    train_parts = [first.shared, first.candidates, first.independent]
    assert [len(part) for part in train_parts] == [600, 100, 100]
    assert len(torch.unique(torch.cat(train_parts))) == 800
    assert len(first.extra) == 80 and int(first.extra.max()) < len(fmnist.test)
    assert len(first.scored_shared) == 90 and torch.isin(first.scored_shared, first.shared).all()
    assert len(first.unused) == len(fmnist.train) - 800
    assert not torch.isin(first.unused, torch.cat(train_parts)).any()
    # stratified: 10 balanced classes, so each class holds about a tenth of S_C
    counts = torch.bincount(fmnist.train.labels[first.candidates], minlength=10)
    assert int(counts.min()) >= 8 and int(counts.max()) <= 12


def test_default_splits_follow_the_paper(fmnist):
    splits = make_splits(fmnist, SplitConfig())
    sizes = len(splits.shared), len(splits.candidates), len(splits.independent)
    assert sizes == (8000, 1000, 1000)
    assert len(splits.extra) == 1000 == len(splits.scored_shared)  # as many as S_C


def test_held_out_class_is_excluded_from_every_part(fmnist):
    planted_config = PlantedConfig(kinds=["held_out_class"], per_kind=5, held_out_class=3)
    excluded = held_out_class(planted_config, fmnist)
    assert excluded == 3
    splits = make_splits(fmnist, SplitConfig(shared=300, candidates=50, independent=50), excluded)
    for part in (splits.shared, splits.candidates, splits.independent, splits.unused):
        assert (fmnist.train.labels[part] != 3).all()
    assert (fmnist.test.labels[splits.extra] != 3).all()
    with pytest.raises(ValueError, match="held_out_class = 12"):
        held_out_class(planted_config.model_copy(update={"held_out_class": 12}), fmnist)


def test_planted_images(fmnist):
    config = PlantedConfig(kinds=["inverted", "held_out_class", "noise"], per_kind=6)
    excluded = held_out_class(config, fmnist)
    assert excluded == 9  # the last class by default
    splits = make_splits(fmnist, SplitConfig(shared=300, candidates=50, independent=50), excluded)
    planted = plant(fmnist, splits, config)
    train = planted.bundle.train
    assert len(train) == len(fmnist.train) + 12  # inverted and noise are appended
    assert {kind: len(index) for kind, index in planted.index.items()} == {
        "inverted": 6, "held_out_class": 6, "noise": 6,
    }  # fmt: skip
    assert (train.labels[planted.index["held_out_class"]] == 9).all()
    # every inverted image is 255 - an unused training image, with its label
    for position in planted.index["inverted"]:
        image = 255 - train.images[position]
        matches = (fmnist.train.images[splits.unused] == image).flatten(1).all(dim=1)
        assert matches.sum() == 1
    assert len(torch.unique(train.ids)) == len(train)
    # the runs' recipe rebuilds the very same training set from the dataset alone
    recipe = planted_recipe(config, SplitConfig(shared=300, candidates=50, independent=50))
    rebuilt = RunSpec.from_json(RunSpec(TrainConfig(), recipe).to_json()).data.build(fmnist)
    assert torch.equal(rebuilt.train.images, train.images)
    assert torch.equal(rebuilt.train.labels, train.labels)
    assert planted_recipe(PlantedConfig(), SplitConfig()) is None
    assert plant(fmnist, splits, PlantedConfig()).bundle is fmnist  # nothing planted


def test_config_validation():
    config = sslmem.Config.model_validate({"study": "sslmem", "train": {"epochs": 3}})
    assert config.train.objective.name == "simclr"  # the study's default objective
    supervised = {"study": "sslmem", "train": {"objective": {"name": "supervised"}}}
    assert sslmem.Config.model_validate(supervised).train.objective.name == "supervised"
    bad = [
        ({"data": {"name": "fmnist-mini", "subset": [1, 2]}}, "subset"),
        ({"train": {"epochs": 5}, "over_training": {"epochs": [8]}}, "after the last epoch"),
        ({"splits": {"shared": 0.8, "candidates": 100}}, "mix counts and fractions"),
        ({"splits": {"shared": 0.8, "candidates": 0.2, "independent": 0.1}}, "sum to 1.1"),
        ({"measure": {"center": ["plain", "plain"]}}, "once each"),
        ({"planted": {"kinds": ["glitter"]}}, "kinds"),
        ({"seeds": []}, "non-empty"),
        ({"measure": {"pairs": 0}}, "pairs=0 is invalid"),
        ({"measure": {"pairs": "many"}}, "pairs"),
        ({"measure": {"scorer": "authors-fixed", "reference": "views"}}, "leave out"),
        ({"measure": {"scorer": "authors-fixed", "augment": {"name": "simclr"}}}, "leave out"),
    ]
    for raw, message in bad:
        with pytest.raises(ValidationError, match=message):
            sslmem.Config.model_validate({"study": "sslmem", **raw})


def _points(planted: int) -> pd.DataFrame:
    ordinary = [("S_C", "ordinary")] * 50 + [("S_I", "ordinary")] * 50
    ordinary += [("S_S", "ordinary")] * 50 + [("S_E", "ordinary")] * 50
    rows = ordinary[:50] + [("S_C", "noise")] * planted + ordinary[50:]
    return pd.DataFrame({"id": range(len(rows)), "subset": [r[0] for r in rows],
                         "kind": [r[1] for r in rows], "label": 0})  # fmt: skip


def test_planted_images_do_not_set_the_normalization_scale():
    # The construction: identical ordinary data, then the same plus 25 planted noise
    # images (memorized far more than any ordinary image). Every ordinary number stays put.
    generator = np.random.default_rng(0)
    align_g = 0.5 + 0.05 * generator.standard_normal((3, 200))
    align_f = align_g - 0.01 - 0.02 * generator.standard_normal((3, 200))
    align_f[:, :50] -= 0.01  # S_C: memorized a little
    noise_f, noise_g = np.full((3, 25), 0.1), np.full((3, 25), 0.6)  # raw score 0.5

    def insert(ordinary, planted):  # planted rows after the ordinary S_C, as scored_points
        return np.concatenate([ordinary[:, :50], planted, ordinary[:, 50:]], axis=1)

    stats_config = sslmem.Config().stats.model_copy(update={"bootstrap_resamples": 100})
    results = {}
    for planted in (0, 25):
        points = _points(planted)
        f = insert(align_f, noise_f[:, :planted])
        g = insert(align_g, noise_g[:, :planted])
        scores = tables.scores_table(points, f, g, ["plain", "shared"])
        summary = tables.summary_table(scores, f, g, ["plain", "shared"], stats_config)
        row = compare.method_row(sslmem.Config().train, scores, f, g, "plain")
        results[planted] = scores, summary, row
    (before, summary_before, row_before), (after, summary_after, row_after) = results.values()
    ordinary = after[after["kind"] == "ordinary"].reset_index(drop=True)
    for column in ("score_raw", "score_norm", "score_raw_shared", "score_norm_shared"):
        np.testing.assert_allclose(ordinary[column], before[column], rtol=1e-12)
    for column in ("mean", "mean_raw", "seed_ci_low", "seed_ci_high"):
        np.testing.assert_allclose(summary_after[column], summary_before[column], rtol=1e-12)
    assert row_after["score_norm_mean"] == pytest.approx(row_before["score_norm_mean"])
    assert row_after["score_norm_seed_std"] == pytest.approx(row_before["score_norm_seed_std"])
    # planted images are scored on the ordinary scale: far above every ordinary image
    spread = before["score_raw"].max() - before["score_raw"].min()
    noise = after[after["kind"] == "noise"]
    np.testing.assert_allclose(noise["score_norm"], noise["score_raw"] / spread)
    assert (noise["score_norm"] > 1).all() and summary_before.loc[0, "mean"] > 0.05


# extra_taps: all on a convnet read at auto (= layer4): every other tap, in network order
ALL_OTHER_TAPS = ["layer1", "layer2", "layer3", "embedding", "projector_hidden", "output"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("sslmem")
    config = sslmem.Config.model_validate(TINY)
    return config, out, studies.run(config, out, quiet=True)


def test_run_writes_the_documented_outputs(tiny_run):
    _, out, run_dir = tiny_run
    assert run_dir.is_complete
    scores = run_dir.load_table("sslmem_scores")
    assert list(scores.columns[:8]) == [
        "id", "subset", "kind", "label", "align_f", "align_g", "score_raw", "score_norm",
    ]  # fmt: skip
    assert {"score_raw_shared", "score_norm_shared"} <= set(scores.columns)
    sizes = scores[scores["kind"] == "ordinary"].groupby("subset").size().to_dict()
    assert sizes == {"S_C": 40, "S_I": 40, "S_S": 40, "S_E": 40}
    assert scores.groupby("kind").size().to_dict() == {"ordinary": 160, "inverted": 6, "noise": 6}
    ordinary = scores[scores["kind"] == "ordinary"]["score_norm"]  # they set the scale
    assert ordinary.max() - ordinary.min() == pytest.approx(1.0)
    np.testing.assert_allclose(scores["score_raw"], scores["align_g"] - scores["align_f"])
    align_f = run_dir.load_array("align_f")
    assert align_f.shape == (2, len(scores))

    tests = run_dir.load_table("sslmem_tests")
    assert {"hypothesis", "statistic", "p_value", "effect_size"} <= set(tests.columns)
    assert set(tests["center"]) == {"plain", "shared"}
    assert "m(S_C) > m(S_S)" in set(tests["hypothesis"])
    assert tests["p_value"].between(0, 1).all()
    summary = run_dir.load_table("sslmem_summary")
    assert {"subset", "mean", "ci_low", "ci_high", "n"} <= set(summary.columns)
    assert (summary["ci_low"] <= summary["mean"]).all()
    assert (summary["mean"] <= summary["ci_high"]).all()
    shared_rows = summary[(summary["center"] == "shared") & (summary["subset"] == "S_S")]
    assert shared_rows["mean"].iloc[0] == pytest.approx(0.0, abs=1e-9)  # centered on S_S
    planted = run_dir.load_table("sslmem_planted")
    assert list(planted.columns[:3]) == ["kind", "n", "auroc"]
    assert planted["auroc"].between(0, 1).all() and set(planted["n"]) == {6}
    # the score finds what it should: planted noise images outrank ordinary candidates
    assert planted.set_index("kind").loc["noise", "auroc"] > 0.5
    over_training = run_dir.load_table("sslmem_over_training")
    assert over_training["epoch"].tolist() == [1, 2]
    assert {"score_mean", "score_top", "score_shared_mean", "loss"} <= set(over_training.columns)
    assert over_training["probe_accuracy"].between(0, 1).all()
    ranking = run_dir.load_table("sslmem_ranking")
    assert {"a", "b", "k", "overlap", "tau", "p_value"} <= set(ranking.columns)

    summary_json = json.loads((out / "summary.json").read_text())
    assert summary_json["center"] == "plain" and summary_json["centers"] == ["plain", "shared"]
    assert set(summary_json["mean_score"]["plain"]) == {"S_C", "S_I", "S_S", "S_E"}
    assert "p_value" in summary_json["ttest_candidates_vs_shared"]["plain"]
    assert summary_json["headlines"]
    figures = {path.stem for path in (out / "figures").glob("*.png")}
    assert figures == {
        "sslmem_fig1_most_memorized", "sslmem_fig2a_alignment", "sslmem_fig2b_over_training",
        "sslmem_fig2c_distributions", "sslmem_fig5_threshold", "sslmem_fig8_feldman",
        "sslmem_table13_agreement", "sslmem_taps", "sslmem_layermem", "sslmem_unitmem",
        "sslmem_unitmem_top",
    }  # fmt: skip
    meta = json.loads((out / "meta.json").read_text())
    assert "environment" in meta and "finished" in meta


def test_figures_redraw_from_stored_results_only(tiny_run):
    _, out, run_dir = tiny_run
    for figure in (out / "figures").glob("*.png"):
        figure.unlink()
    classes = json.loads((out / "summary.json").read_text())["classes"]
    written = draw_figures(RunDir(out), classes)
    assert len(written) == 11 and all(path.exists() for path in written)


def test_extra_taps_are_scored_on_the_same_views(tiny_run):
    _, _, run_dir = tiny_run
    taps = run_dir.load_table("sslmem_taps")
    assert list(taps["tap"]) == ["auto", *ALL_OTHER_TAPS]
    output = list(taps["tap"]).index("output")
    # the headline tap's row repeats the headline tables
    summary = run_dir.load_table("sslmem_summary")
    headline = summary[summary["center"] == "plain"].set_index("subset")["mean"]
    for subset in ("S_C", "S_S", "S_I", "S_E"):
        assert taps.loc[0, f"mean_{subset}"] == pytest.approx(headline[subset])
    tests = run_dir.load_table("sslmem_tests")
    key = tests[(tests["center"] == "plain") & (tests["hypothesis"] == "m(S_C) > m(S_S)")]
    assert taps.loc[0, "t_statistic"] == pytest.approx(key["statistic"].iloc[0])
    planted = run_dir.load_table("sslmem_planted").set_index("kind")["auroc"]
    for kind, auroc in planted.items():
        assert taps.loc[0, f"auroc_{kind}"] == pytest.approx(auroc)
        assert 0 <= taps.loc[output, f"auroc_{kind}"] <= 1
    # another representation gives other scores
    assert taps.loc[output, "mean_S_S"] != pytest.approx(taps.loc[0, "mean_S_S"])
    # the headlines name the headline tap and give the other tap's test and AUROCs
    summary_json = json.loads((run_dir.path / "summary.json").read_text())
    assert list(taps["layer"]) == ["layer4", *ALL_OTHER_TAPS]  # `auto` reads layer4 (convnet)
    assert summary_json["tap"] == "auto (layer4)"
    assert summary_json["headlines"][0].startswith("[plain, tap auto (layer4)] mean normalized")
    others = [line for line in summary_json["headlines"] if line.startswith("at tap ")]
    assert len(others) == len(ALL_OTHER_TAPS)
    (other,) = [line for line in others if line.startswith("at tap output:")]
    statistic = taps.loc[output, "t_statistic"]
    assert other.startswith(f"at tap output: m(S_C) > m(S_S) t = {statistic:.2f}")
    assert f"noise {taps.loc[output, 'auroc_noise']:.2f}" in other


def test_layermem_is_sslmem_per_layer_and_delta_the_step_between_layers(tiny_run):
    _, _, run_dir = tiny_run
    taps = run_dir.load_table("sslmem_taps")
    # LayerMem at the headline tap is the headline score of the candidates
    summary = run_dir.load_table("sslmem_summary")
    plain = summary[summary["center"] == "plain"].set_index("subset")
    assert taps.loc[0, "layermem"] == pytest.approx(plain.loc["S_C", "mean"], rel=1e-12)
    assert taps.loc[0, "layermem_raw"] == pytest.approx(plain.loc["S_C", "mean_raw"], rel=1e-12)
    # Delta is the difference of consecutive layers in the network's order
    ordered = taps.sort_values("depth")
    assert list(ordered["layer"]) == ["layer1", "layer2", "layer3", "layer4", "embedding",
                                      "projector_hidden", "output"]  # fmt: skip
    for column in ("layermem", "layermem_raw"):
        values = ordered[column].to_numpy()
        steps = ordered[f"delta_{column}"].to_numpy()
        assert np.isnan(steps[0])
        np.testing.assert_allclose(steps[1:], np.diff(values), rtol=1e-12)
    assert ordered["layermem"].nunique() == len(ordered)  # each layer scored on its own output
    lines = json.loads((run_dir.path / "summary.json").read_text())["headlines"]
    assert any(line.startswith("LayerMem (mean normalized score of S_C) by depth: layer1 ")
               for line in lines)  # fmt: skip


def test_layermem_of_one_layer_is_sslmem_of_its_flattened_normalized_output(tiny_run):
    config, out, run_dir = tiny_run
    bundle = data.load(config.data.name)
    splits = make_splits(bundle, config.splits, held_out_class(config.planted, bundle))
    planted = plant(bundle, splits, config.planted)
    points, images = study.scored_points(planted.bundle, splits, planted)
    encoders = [
        network
        for role in ("f", "g")
        for network in scoring.load_encoders(roles.checkpoints(out, role, "final"))
    ]
    draws = json.loads((out / "meta.json").read_text())["view_draws"]
    options = {**study.measure_options(config), "pairs": draws, "tap": "layer2"}
    losses = alignment_losses(encoders, images, **options).numpy()
    k = len(config.seeds)
    scores = tables.scores_table(points, losses[:k], losses[k:], ["plain"])
    expected = tables.subset_scores(scores, "score_norm")["S_C"].mean()
    taps = run_dir.load_table("sslmem_taps").set_index("tap")
    assert taps.loc["layer2", "layermem"] == pytest.approx(expected, rel=1e-5)


def test_unitmem_of_the_f_encoders(tiny_run):
    config, _, run_dir = tiny_run
    per_unit = run_dir.load_table("sslmem_unitmem")
    widths = {"layer1": 16, "layer2": 32, "layer3": 64, "layer4": 128}  # convnet-tiny
    assert per_unit.groupby(["seed", "tap"]).size().to_dict() == {
        (seed, tap): width for seed in config.seeds for tap, width in widths.items()
    }  # fmt: skip
    defined = per_unit["unitmem"].dropna()
    assert len(defined) > 0 and defined.between(0, 1).all()  # after ReLU: in [0, 1]
    # the top image of each unit is one of f's training images among the scored points
    assert set(per_unit["top_subset"]) <= {"S_C", "S_S"}
    layers_table = run_dir.load_table("sslmem_unitmem_layers")
    assert list(layers_table["tap"]) == list(widths)
    assert list(layers_table["units"]) == [2 * width for width in widths.values()]
    top = run_dir.load_table("sslmem_unitmem_top")
    assert len(top) == 5 and top["unitmem"].is_monotonic_decreasing
    assert top["unitmem"].iloc[0] == pytest.approx(defined.max())
    assert run_dir.load_array("unitmem_top_images").shape[0] == 5
    lines = json.loads((run_dir.path / "summary.json").read_text())["headlines"]
    assert any(line.startswith("UnitMem of the f encoders, median per layer: layer1 ")
               for line in lines)  # fmt: skip


def test_over_training_scores_every_epoch_on_the_main_views(tiny_run):
    config, out, run_dir = tiny_run
    over_training = run_dir.load_table("sslmem_over_training").set_index("epoch")
    summary = run_dir.load_table("sslmem_summary")
    plain = summary[summary["center"] == "plain"].set_index("subset")
    last = over_training.loc[config.train.epochs]  # agrees with the summary
    assert last["score_mean"] == pytest.approx(plain.loc["S_C", "mean"], rel=1e-12)
    assert last["score_shared_mean"] == pytest.approx(plain.loc["S_S", "mean"], rel=1e-12)
    assert last["score_raw_mean"] == pytest.approx(plain.loc["S_C", "mean_raw"], rel=1e-12)
    # epoch 1 re-scored here on every point with the study's views, from its checkpoints
    bundle = data.load(config.data.name)
    splits = make_splits(bundle, config.splits, held_out_class(config.planted, bundle))
    planted = plant(bundle, splits, config.planted)
    points, images = study.scored_points(planted.bundle, splits, planted)
    encoders = [
        network
        for role in ("f", "g")
        for network in scoring.load_encoders(roles.checkpoints(out, role, epoch_checkpoint(1)))
    ]
    draws = json.loads((out / "meta.json").read_text())["view_draws"]  # pairs: auto's
    options = {**study.measure_options(config), "pairs": draws}
    losses = alignment_losses(encoders, images, **options).numpy()
    measured = losses[: len(config.seeds)], losses[len(config.seeds) :]
    scores = tables.scores_table(points, *measured, ["plain"])
    means = {subset: values.mean() for subset, values in
             tables.subset_scores(scores, "score_norm").items()}  # fmt: skip
    # (the study runs channels_last copies: equal up to float rounding)
    assert over_training.loc[1, "score_mean"] == pytest.approx(means["S_C"], rel=1e-5)
    assert over_training.loc[1, "score_shared_mean"] == pytest.approx(means["S_S"], rel=1e-5)


def test_authors_scorer_sets_its_reference_and_augmentation():
    config = sslmem.Config.model_validate({**TINY, "measure": {"scorer": "authors-fixed"}})
    options = study.measure_options(config)
    assert options["reference"] == "clean" and options["augment"] == "benign"
    assert study.measure_options(sslmem.Config.model_validate(TINY))["reference"] == "views"


def test_reliability_of_every_tap_is_reported_and_pairs_auto_respects_target_and_cap(tiny_run):
    config, out, run_dir = tiny_run
    reliable = run_dir.load_table("sslmem_reliability")
    assert list(reliable["tap"]) == ["auto", *ALL_OTHER_TAPS]
    assert set(reliable["n"]) == {40} and reliable["reliability"].between(-1, 1).all()
    pairs = int(reliable["pairs"].iloc[0])
    headline = reliable["reliability"].iloc[0]
    assert 5 <= pairs <= 8 and (headline >= 0.8 or pairs == 8)  # target 0.8, cap 8
    # recomputed from the stored per-pair distances; their mean is the stored eq. 1
    pairs_f, pairs_g = run_dir.load_array("align_pairs_f"), run_dir.load_array("align_pairs_g")
    assert pairs_f.shape == (2, 172, pairs)
    np.testing.assert_allclose(pairs_f.mean(axis=2), run_dir.load_array("align_f"), rtol=1e-12)
    scores = run_dir.load_table("sslmem_scores")
    candidates = tables.candidate_mask(scores)
    again = reliability.split_half(pairs_f, pairs_g, candidates)
    assert again.reliability == pytest.approx(headline) and again.pairs == pairs
    taps = run_dir.load_table("sslmem_taps")
    np.testing.assert_allclose(taps["reliability"], reliable["reliability"])
    methods = run_dir.load_table("sslmem_methods")
    assert methods.loc[0, "reliability"] == pytest.approx(headline)
    assert methods.loc[0, "pairs"] == pairs
    # agreement tables carry the noise ceiling of each pair (Feldman's score: no view noise)
    ranking = run_dir.load_table("sslmem_ranking")
    overall = ranking[ranking["k"] == 40].set_index(["a", "b"])
    assert overall.loc[("sslmem", "feldman"), "reliability_b"] == 1.0
    expected = reliability.noise_ceiling(headline, 1.0)[1]
    assert overall.loc[("sslmem", "feldman"), "tau_ceiling"] == pytest.approx(expected)
    assert ranking[ranking["k"] < 40]["tau_ceiling"].isna().all()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["reliability"][0]["reliability"] == pytest.approx(headline)
    assert summary["feldman_tau"]["tau_ceiling"] == pytest.approx(expected)
    assert summary["feldman_tau"]["n"] == 40  # the candidates ranked: the claim's power
    lines = summary["headlines"]
    assert any(line.startswith("per-image reliability of m(x) over the 40 ordinary candidates "
                               f"at tap auto (layer4): {headline:.2f} with {pairs} view pairs")
               for line in lines)  # fmt: skip
    assert any(f"noise ceiling {expected:.3f}" in line for line in lines)


def test_extra_tap_repeating_the_headline_tap_is_refused():
    with pytest.raises(ValidationError, match="repeat a tap"):
        measure = {"tap": "output", "extra_taps": ["output"]}
        sslmem.Config.model_validate({**TINY, "measure": measure})


def test_second_run_reuses_trainings(tiny_run):
    config, out, run_dir = tiny_run
    checkpoints = sorted((out / "runs").glob("*/checkpoints/final.safetensors"))
    assert len(checkpoints) == 6  # 2 f + 2 g + 1 supervised f' + 1 supervised g'
    stamps = [path.stat().st_mtime_ns for path in checkpoints]
    before = run_dir.load_table("sslmem_scores")
    studies.run(config, out, quiet=True)
    assert [path.stat().st_mtime_ns for path in checkpoints] == stamps
    after = RunDir(out).load_table("sslmem_scores")
    np.testing.assert_allclose(after["score_raw"], before["score_raw"])


@pytest.mark.parametrize(
    ("measure", "message"),
    [
        ({"augment": {"name": "rotate"}}, "identical views"),
        ({"tap": "layer7"}, "unknown tap"),
        ({"extra_taps": ["layer9"]}, "unknown tap"),
    ],
)
def test_unusable_measurements_are_refused_before_training(tmp_path, measure, message):
    config = sslmem.Config.model_validate({**TINY, "measure": measure})
    with pytest.raises(ValueError, match=message):
        studies.run(config, tmp_path, quiet=True)
    assert not (tmp_path / "runs").exists()


def test_runs_table_records_each_training_role(tiny_run):
    _, out, run_dir = tiny_run
    runs = run_dir.load_table("sslmem_runs")
    assert runs.groupby("role").size().to_dict() == {
        "f": 2, "g": 2, "f-supervised": 1, "g-supervised": 1,
    }  # fmt: skip
    assert set(runs.loc[runs["role"] == "f", "train_images"]) == {160 + 40 + 12}  # + planted
    assert set(runs.loc[runs["role"] == "g", "train_images"]) == {160 + 40}
    assert all((out / run / "COMPLETE").exists() for run in runs["run"])
    listed = CliRunner().invoke(app, ["runs", str(out), "--json"], env={"COLUMNS": "80"})
    assert listed.exit_code == 0, listed.output
    roles = {row["run"]: row["role"] for row in json.loads(listed.output)}
    assert roles == dict(zip(runs["run"], runs["role"], strict=True))
    table = CliRunner().invoke(app, ["runs", str(out)], env={"COLUMNS": "80"}).output
    assert all(run.removeprefix("runs/") in table for run in runs["run"])  # names whole


def test_rescoring_from_the_study_reproduces_its_candidate_scores(tiny_run, tmp_path):
    _, out, run_dir = tiny_run
    rescored = tmp_path / "rescored"
    result = CliRunner().invoke(
        app, ["sslmem-score", "--from-study", str(out), "--out", str(rescored)]
    )
    assert result.exit_code == 0, result.output
    table = RunDir(rescored).load_table("sslmem_scores")
    scores = run_dir.load_table("sslmem_scores")
    candidates = scores[scores["subset"] == "S_C"]
    assert table["id"].tolist() == candidates["id"].tolist()
    assert table["kind"].tolist() == candidates["kind"].tolist()  # planted ones included
    np.testing.assert_allclose(table["score_raw"], candidates["score_raw"], rtol=1e-5, atol=1e-7)
    both = CliRunner().invoke(app, ["sslmem-score", "--from-study", str(out), "--f", "x.pt",
                                    "--out", str(tmp_path / "no")])  # fmt: skip
    assert both.exit_code == 2 and "--from-study takes the study's own" in both.output
    # The rescore is a directory of its own kind, bound to what it wrote.
    assert RunDir(rescored).is_complete and RunDir(rescored).verify() == []
    assert RunDir(rescored).read_manifest()["kind"] == "sslmem-score"
    # Into the study itself: refused before anything is written (issue 25: it replaced the
    # study's sslmem_scores, without subset and S_S/S_I/S_E, under its COMPLETE).
    before = {path: path.read_bytes() for path in run_dir.path.rglob("*") if path.is_file()}
    into = CliRunner().invoke(app, ["sslmem-score", "--from-study", str(out), "--out", str(out)])
    assert into.exit_code == 2 and "is a study directory" in into.output
    assert {path: path.read_bytes() for path in run_dir.path.rglob("*") if path.is_file()} == before
