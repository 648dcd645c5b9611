"""The memorization atlas (issue 23): its pool design, planted kinds and config on constructed
inputs, then one run of its quick config whose stored per-model arrays every score is checked
against (the analysis functions themselves are tested in tests/analysis)."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from pydantic import ValidationError
from scipy.stats import norm
from typer.testing import CliRunner

from mnemoscope import data, studies
from mnemoscope.analysis.dynamics import first_learned
from mnemoscope.analysis.membership import held_out_scores, logit_scale
from mnemoscope.analysis.pool import leave_out_score
from mnemoscope.cli import app
from mnemoscope.config_file import packaged_config
from mnemoscope.measure.alignment import score_range
from mnemoscope.store import RunDir
from mnemoscope.studies.atlas import Config
from mnemoscope.studies.atlas.pool import (
    AtlasRecipe,
    make_layout,
    membership,
    model_subset,
    pair_groups,
)
from mnemoscope.studies.atlas.study import rescore, study_specs
from mnemoscope.studies.sslmem.claims import FELDMAN_TAU

QUICK = packaged_config("atlas-quick")


@pytest.fixture(scope="module")
def fmnist():
    return data.load("fmnist-mini")


def config_with(**changes) -> Config:
    return Config.model_validate({**QUICK, **changes})


# -- the pool design ------------------------------------------------------------------------------


def test_every_candidate_is_in_for_half_the_models_in_complementary_pairs():
    kind = np.array(["ordinary"] * 101 + ["noise"] * 8 + ["duplicate_2"] * 8)
    inside = membership(kind, 8, seed=3, method="simclr")
    assert inside.shape == (8, len(kind))
    assert (inside.sum(axis=0) == 4).all()  # every candidate IN for exactly K/2
    for pair in range(4):
        assert np.array_equal(inside[2 * pair], ~inside[2 * pair + 1])
    for name in ("ordinary", "noise", "duplicate_2"):  # each kind split in half per model
        counts = inside[:, kind == name].sum(axis=1)
        assert counts.max() - counts.min() <= 1
        assert abs(counts.mean() - (kind == name).sum() / 2) <= 0.5
    assert np.array_equal(pair_groups(inside), np.repeat(np.arange(0, 8, 2), 2))
    assert list(pair_groups(inside[[0, 2, 3]])) == [0, 1, 1]  # a lone model: its own group


def test_membership_is_seeded_per_method_and_a_models_half_does_not_depend_on_k():
    kind = np.array(["ordinary"] * 60)
    first = membership(kind, 6, seed=0, method="simclr")
    assert np.array_equal(first, membership(kind, 6, seed=0, method="simclr"))
    assert not np.array_equal(first, membership(kind, 6, seed=1, method="simclr"))
    # another method draws its own halves: no noise of the draw shared across methods
    other = membership(kind, 6, seed=0, method="supervised")
    assert not np.array_equal(first, other) and (other.sum(axis=0) == 3).all()
    # raising K adds pairs and keeps the models already drawn (and so their trained runs)
    assert np.array_equal(membership(kind, 10, seed=0, method="simclr")[:6], first)
    with pytest.raises(ValueError, match="even"):
        membership(kind, 5, seed=0, method="simclr")


def test_layout_shared_part_in_every_model_and_candidates_apart(fmnist):
    config = config_with()
    layout = make_layout(fmnist, config.pool, config.planted)
    inside = membership(layout.kind, config.pool.models, config.pool.seed, "simclr")
    shared = set(layout.shared.tolist())
    assert len(shared) == config.pool.shared and not shared & set(layout.candidates.tolist())
    assert (layout.kind == "ordinary").sum() == config.pool.candidates
    for model in range(config.pool.models):
        subset = set(model_subset(layout, inside, model))
        assert shared <= subset  # the shared part: every model
        chosen = set(layout.candidates[torch.from_numpy(inside[model])].tolist())
        assert subset == shared | chosen
    # the held-out class appears only as its planted images
    labels = layout.bundle.train.labels
    excluded = layout.held_out_class
    assert excluded == fmnist.num_classes - 1
    ordinary = layout.candidates[torch.from_numpy(layout.kind == "ordinary")]
    assert not (labels[layout.shared] == excluded).any()
    assert not (labels[ordinary] == excluded).any()
    held = layout.candidates[torch.from_numpy(layout.kind == "held_out_class")]
    assert (labels[held] == excluded).all()
    again = make_layout(fmnist, config.pool, config.planted)
    assert torch.equal(again.images, layout.images)


def test_planted_kinds_are_what_they_claim(fmnist):
    config = config_with(planted={"per_kind": 8, "copies_of": "ordinary"})
    layout = make_layout(fmnist, config.pool, config.planted)
    images, kind, group = layout.images, layout.kind, layout.group
    counts = pd.Series(kind).value_counts()
    assert all(counts[k] == 8 for k in config.planted.kinds)
    for name, copies in (("duplicate_2", 2), ("duplicate_8", 8)):
        groups = group[kind == name]
        assert len(set(groups)) == 8 // copies
        for member in set(groups):  # exact copies inside a group, different images across
            chosen = images[torch.from_numpy(group == member)]
            assert len(chosen) == copies and (chosen == chosen[0]).all()
        firsts = images[torch.from_numpy(kind == name)][::copies]
        assert len({bytes(image.numpy()) for image in firsts}) == len(firsts)
    near = images[torch.from_numpy(kind == "near_duplicate")].double()
    difference = (near[0::2] - near[1::2]).abs()
    assert (difference.flatten(1).mean(axis=1) > 0).all()  # near, not exact copies
    assert (difference.flatten(1).mean(axis=1) < 20).all()
    mislabeled = kind == "mislabeled"
    assert (layout.labels.numpy()[mislabeled] != layout.true_label[mislabeled]).all()
    assert (layout.labels.numpy()[~mislabeled] == layout.true_label[~mislabeled]).all()
    inverted = layout.source[kind == "inverted"]
    original = fmnist.train.images[torch.from_numpy(inverted)]
    assert torch.equal(images[torch.from_numpy(kind == "inverted")], 255 - original)
    # the originals planted images are made from are used nowhere else
    used = set(layout.shared.tolist()) | set(layout.candidates[torch.from_numpy(
        kind == "ordinary")].tolist())  # fmt: skip
    assert not used & set(layout.source[layout.source >= 0].tolist()) - set(
        layout.candidates[torch.from_numpy(kind == "held_out_class")].tolist())  # fmt: skip


def test_raising_k_reuses_every_run_already_listed(fmnist):
    six = {spec.run_name for spec in study_specs(config_with(), fmnist)}
    eight = {
        spec.run_name
        for spec in study_specs(config_with(pool={**QUICK["pool"], "models": 8}), fmnist)
    }
    assert len(six) == 12 and len(eight) == 16 and six < eight
    recipe = AtlasRecipe(pool=config_with().pool, planted=config_with().planted)
    assert "models" not in recipe.describe()["pool"]


def test_config_refuses_what_the_atlas_cannot_measure():
    with pytest.raises(ValidationError, match="odd"):
        config_with(pool={"models": 7})
    with pytest.raises(ValidationError, match="supervised"):
        config_with(methods=[{"name": "rl", "train": {"objective": {"name": "random_labels"}}}])
    with pytest.raises(ValidationError, match="multiple of the 8"):
        config_with(planted={"per_kind": 12})
    with pytest.raises(ValidationError, match="unknown"):
        config_with(planted={"kinds": ["duplicate_1"]})
    with pytest.raises(ValidationError, match="pairs = auto"):
        config_with(measure={"pairs": "auto"})
    with pytest.raises(ValidationError, match="lower case"):
        config_with(methods=[{"name": "sim_clr"}])
    assert config_with().is_ssl("simclr") and not config_with().is_ssl("supervised")


# -- one run of the quick config ---------------------------------------------------------------


@pytest.fixture(scope="module")
def quick_run(quick_runs) -> RunDir:
    return RunDir(quick_runs("atlas"))  # the registry's conformance tests read the same run


@pytest.mark.slow
def test_scores_are_the_analysis_functions_of_the_stored_arrays(quick_run):
    scores = quick_run.load_table("atlas_scores")
    inside = quick_run.load_array("simclr-inside", mmap=False)
    ordinary = (scores["kind"] == "ordinary").to_numpy()
    align = quick_run.load_array("simclr-align-auto", mmap=False).astype(np.float64)
    raw = leave_out_score(align.mean(axis=2), inside, member_high=False)  # eq. 2: OUT - IN
    assert scores["simclr_sslmem"].to_numpy() == pytest.approx(raw / score_range(raw[ordinary]))
    probability = quick_run.load_array("supervised-probability", mmap=False)
    inside = quick_run.load_array("supervised-inside", mmap=False)
    assert scores["supervised_feldman"].to_numpy() == pytest.approx(
        leave_out_score(probability, inside, member_high=True))  # fmt: skip
    ratios = held_out_scores(logit_scale(probability), inside, groups=pair_groups(inside))
    assert scores["supervised_lira_online"].to_numpy() == pytest.approx(
        leave_out_score(ratios, inside, member_high=True, missing=True), nan_ok=True)  # fmt: skip
    inside = quick_run.load_array("simclr-inside", mmap=False)
    correct = quick_run.load_array("simclr-correct", mmap=False)  # [K, E, V, N]
    epochs = quick_run.load_array("simclr-epochs", mmap=False)
    assert list(epochs) == [1.0, 2.0, 3.0, 4.0]
    learned = np.append(epochs, 5.0)[first_learned(correct, axis=1)].mean(axis=1)
    assert scores["simclr_first_learned"].to_numpy() == pytest.approx(
        leave_out_score(learned, inside, member_high=True, side="in"))  # fmt: skip
    dejavu = quick_run.load_array("simclr-dejavu", mmap=False)
    assert set(np.unique(dejavu)) <= {0, 1}
    low, high = scores["simclr_sslmem_low"], scores["simclr_sslmem_high"]
    # at K = 6 (3 IN) 3 % of the model resamples lack a side: some bounds are NaN (pool.py)
    assert ((low <= scores["simclr_sslmem"] + 1e-12) | low.isna()).all() and low.notna().any()
    assert ((high >= scores["simclr_sslmem"] - 1e-12) | high.isna()).all()
    assert (inside.sum(axis=0) == 3).all()


@pytest.mark.slow
def test_tables_cover_every_score_and_mislabeled_only_for_supervised(quick_run):
    reliability = quick_run.load_table("atlas_reliability")
    names = list(reliability["score"])
    assert {"simclr_sslmem", "simclr_layermem_layer2", "simclr_layermem_embedding",
            "simclr_dejavu", "simclr_lira_online", "simclr_forgetting", "supervised_feldman",
            "supervised_lira_offline", "supervised_low_confidence"} <= set(names)  # fmt: skip
    views = reliability.set_index("score")["views"]
    assert views["simclr_sslmem"] == 4 and views["supervised_feldman"] == 1
    agreement = quick_run.load_table("atlas_agreement")
    assert len(agreement) == len(names) * (len(names) - 1) // 2
    assert (agreement["n"] == 150).all()  # the ordinary candidates
    detection = quick_run.load_table("atlas_detection")
    mislabeled = detection[detection["kind"] == "mislabeled"]
    assert len(mislabeled) and (mislabeled["method"] == "supervised").all()
    assert set(detection["kind"]) == set(QUICK_KINDS)
    membership_table = quick_run.load_table("atlas_membership")
    assert set(membership_table["variant"]) == {"online", "online-fixed", "offline"}
    assert (membership_table["members"] == 6 * 103).all()  # K x N / 2 (target, image) pairs
    curve = quick_run.load_table("atlas_reliability_curve")
    assert set(curve["k"]) == {2, 4, 6}


QUICK_KINDS = ["noise", "inverted", "held_out_class", "duplicate_2", "duplicate_8",
               "near_duplicate", "mislabeled"]  # fmt: skip


@pytest.mark.slow
def test_planted_kinds_are_found_on_the_quick_config(quick_run):
    # a class seen only as 4 planted images per model is learned late and with low confidence
    # by the supervised models that trained on them, at any scale
    detection = quick_run.load_table("atlas_detection").set_index(["score", "kind"])
    found = detection.loc[("supervised_low_confidence", "held_out_class")]
    assert found["auroc"] > 0.75 and found["auroc_low"] > 0.5
    summary = quick_run.path / "summary.json"
    assert "supervised_low_confidence" in summary.read_text()


@pytest.mark.slow
def test_rescoring_reproduces_the_tables_and_refuses_other_models(quick_run, tmp_path):
    import shutil

    # a copy: the shared quick run stays as the study wrote it
    quick_run = RunDir(shutil.copytree(quick_run.path, tmp_path / "atlas"))
    before = quick_run.load_table("atlas_scores")
    arrays = {path.name for path in (quick_run.path / "arrays").iterdir()}
    found = rescore(quick_run.path)
    pd.testing.assert_frame_equal(quick_run.load_table("atlas_scores"), before)
    assert quick_run.is_complete and found.models == 6
    changed = tmp_path / "atlas.yaml"
    changed.write_text(yaml.safe_dump({**QUICK, "pool": {**QUICK["pool"], "models": 8}}))
    result = CliRunner().invoke(app, ["rescore", str(quick_run.path), "--config",
                                      str(changed)])  # fmt: skip
    assert result.exit_code != 0 and "pool" in result.output
    fewer = tmp_path / "fewer.yaml"
    fewer.write_text(yaml.safe_dump({**QUICK, "membership": {"variants": ["offline"]}}))
    result = CliRunner().invoke(app, ["rescore", str(quick_run.path), "--config",
                                      str(fewer)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert set(quick_run.load_table("atlas_membership")["variant"]) == {"offline"}
    assert quick_run.is_complete and quick_run.verify() == []
    assert {path.name for path in (quick_run.path / "arrays").iterdir()} == arrays  # all kept


def test_rescore_refuses_a_study_that_stores_nothing_to_rescore_from(tmp_path):
    (tmp_path / "config.yaml").write_text("study: sslmem\n")
    result = CliRunner().invoke(app, ["rescore", str(tmp_path)])
    assert result.exit_code == 2
    assert "'sslmem' study, which stores nothing to rescore from" in result.output
    assert "studies that do: atlas" in result.output
    result = CliRunner().invoke(app, ["rescore", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "not a study directory" in result.output


# -- the claims, on constructed summaries ---------------------------------------------------------


def atlas_summary(**fields) -> dict:
    summary = {"models": 16, "candidates": 1000, "planted": {"noise": 16},
               "methods": {"simclr": "ssl", "supervised": "supervised"},
               "headline": {"simclr": "simclr_sslmem", "supervised": "supervised_feldman"},
               "classes": ["a", "b"], "scores": [], "detection": [], "agreement": [],
               "membership": [], "headlines": []}  # fmt: skip
    return summary | fields


def detection_row(kind, auroc, low, high, score="simclr_sslmem"):
    return {"score": score, "method": score.split("_")[0], "measure": "sslmem", "kind": kind,
            "auroc": auroc, "auroc_low": low, "auroc_high": high}  # fmt: skip


def measured(index, summary):
    record = studies.get("atlas")
    return record.claims[index].measure(record.read_summary(summary))


def test_atypical_claim_reads_the_intervals_of_the_ssl_headline_score():
    found = [detection_row("noise", 0.8, 0.7, 0.9), detection_row("inverted", 0.7, 0.55, 0.8),
             detection_row("mislabeled", 0.2, 0.1, 0.3, "supervised_feldman")]  # fmt: skip
    assert measured(1, atlas_summary(detection=found)).verdict == "reproduced"
    found[1] = detection_row("inverted", 0.6, 0.45, 0.75)  # one interval reaches 0.5
    assert measured(1, atlas_summary(detection=found)).verdict == "undecided"
    below = [detection_row("noise", 0.2, 0.1, 0.3)]
    assert measured(1, atlas_summary(detection=below)).verdict == "opposite"
    assert "none of noise" in measured(1, atlas_summary()).reason


def test_feldman_claim_is_underpowered_when_the_test_or_the_ceiling_cannot_see_the_paper():
    def row(tau, p, ceiling):
        return {
            "a": "simclr_sslmem",
            "b": "supervised_feldman",
            "same_models": False,
            "n": 1000,
            "spearman": tau * 1.5,
            "spearman_p": p,
            "kendall": tau,
            "kendall_p": p,
            "kendall_ceiling": ceiling,
            "spearman_ceiling": ceiling * 1.4,
        }

    found = measured(2, atlas_summary(agreement=[row(0.1, 1e-6, 0.5)]))
    assert found.verdict == "reproduced" and found.paper_effect == FELDMAN_TAU
    # n = 1000: the tau detected with 80% power at one-sided 5% is 2.486 sd of tau under H0
    sd = math.sqrt(2 * (2 * 1000 + 5) / (9 * 1000 * 999))
    assert found.mde == pytest.approx((norm.ppf(0.95) + norm.ppf(0.8)) * sd)  # ~0.0525
    # ... and a noise ceiling of 0.02 is below it: even perfect agreement could not show
    quiet = measured(2, atlas_summary(agreement=[row(0.01, 0.6, 0.02)]))
    assert quiet.verdict == "underpowered" and "noise ceiling 0.020" in quiet.value
    assert measured(2, atlas_summary(agreement=[row(0.01, 0.6, 0.3)])).verdict == "undecided"
    assert measured(2, atlas_summary(agreement=[row(-0.1, 1e-6, 0.3)])).verdict == "opposite"
    few = dict(row(0.01, 0.6, 0.3), n=30)  # 30 images detect only tau ~0.32 > the paper's 0.192
    assert measured(2, atlas_summary(agreement=[few])).verdict == "underpowered"
    alone = atlas_summary(methods={"simclr": "ssl"}, headline={"simclr": "simclr_sslmem"})
    assert "SSL and a supervised" in measured(2, alone).reason


def test_memorized_claim_is_the_one_sided_test_of_sslmem_above_zero():
    test = {"score": "simclr_sslmem", "mean": 0.05, "statistic": 3.0, "p_value": 0.001,
            "effect_size": 0.1, "n": 1000}  # fmt: skip
    assert measured(0, atlas_summary(memorized=test)).verdict == "reproduced"
    assert measured(0, atlas_summary(memorized=test | {"p_value": 0.99})).verdict == "opposite"
    assert "no SSL method" in measured(0, atlas_summary()).reason
