import json

import numpy as np
import pytest
import torch
import yaml

from mnemoscope import data, studies
from mnemoscope.store import RunDir
from mnemoscope.studies.profiles import Config
from mnemoscope.studies.profiles.config import measurement_epochs
from mnemoscope.studies.profiles.figures import draw_figures
from mnemoscope.studies.profiles.tables import write_tables
from mnemoscope.studies.profiles.tracking import RecognitionHook, select_images
from mnemoscope.training import load_network
from mnemoscope.training.config import overlay_fields
from mnemoscope.training.labels import random_labels
from tests.studies.conftest import EPOCHS, SEEDS, TRACKED, VIEWS
from tests.studies.conftest import tiny_profiles as tiny_config


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("profiles")
    config = tiny_config()
    return config, studies.run(config, out, quiet=True)


# --- config -----------------------------------------------------------------------------------


def test_defaults_are_paper_001():
    config = Config()
    assert config.seeds == list(range(30)) and config.tracking.size == 1000
    assert config.tracking.augmentations == 10 and config.data.name == "cifar10"
    assert config.targets == [0.25, 0.5, 0.75]
    by_name = {p.name: config.train_config(p, seed=0) for p in config.paradigms}
    assert set(by_name) == {"supervised", "simclr", "random_labels", "random_labels_aug"}
    simclr = by_name["simclr"]
    assert simclr.optim.name == "adam" and simclr.objective.temperature == 0.07
    assert simclr.model.output_dim == 128 and simclr.augment.name == "simclr"
    for name in ("supervised", "random_labels", "random_labels_aug"):
        assert by_name[name].optim.name == "sgd" and by_name[name].optim.momentum == 0.9
    for train in by_name.values():
        assert train.model.name == "resnet18" and train.batch_size == 256
        assert train.optim.lr == 3e-4 and train.optim.weight_decay == 1e-4
        assert train.optim.schedule == "cosine"
    assert by_name["random_labels"].augment.name == "none"
    assert by_name["random_labels_aug"].augment.name == "weak"


def test_study_is_registered_and_loads_from_yaml_dict():
    config = studies.load_config(tiny_config().model_dump(mode="json"))
    assert isinstance(config, Config)
    assert config.paradigms[0].measure_every == 0.5


@pytest.mark.parametrize("key", ["data", "seed", "measure_at", "measure"])
def test_study_owned_training_keys_are_refused(key):
    with pytest.raises(ValueError, match=key):
        tiny_config(train={key: 1})


def test_bad_paradigms_are_refused_before_any_work():
    with pytest.raises(ValueError, match="used twice"):
        tiny_config(paradigms=[{"name": "a"}, {"name": "a"}])
    with pytest.raises(ValueError, match="paradigm name"):
        tiny_config(paradigms=[{"name": "Bad/name"}])
    with pytest.raises(ValueError, match="(?s)'broken'.*optim"):
        tiny_config(paradigms=[{"name": "broken", "train": {"optim": {"name": "lbfgs"}}}])
    with pytest.raises(ValueError, match="byol"):  # no recognition indicator without negatives
        tiny_config(paradigms=[{"name": "b", "train": {"objective": {"name": "byol"}}}])
    with pytest.raises(ValueError, match="eval_batch_size"):
        tiny_config(tracking={"size": 8, "eval_batch_size": 16})
    with pytest.raises(ValueError, match="tracking.size"):
        tiny_config(tracking={"size": 500})  # more than the 128 training images


def test_paradigm_fields_merge_over_train_but_another_objective_replaces_it_whole():
    base = {"optim": {"lr": 1.0, "momentum": 0.5}, "objective": {"name": "simclr",
            "temperature": 0.2}}  # fmt: skip
    merged = overlay_fields(base, {"optim": {"lr": 2.0, "name": "sgd"},
                                   "objective": {"name": "supervised"}})  # fmt: skip
    assert merged["optim"] == {"lr": 2.0, "momentum": 0.5, "name": "sgd"}
    assert merged["objective"] == {"name": "supervised"}
    same = overlay_fields(base, {"objective": {"name": "simclr"}})
    assert same["objective"] == {"name": "simclr", "temperature": 0.2}


def test_measurement_epochs_lie_on_the_step_grid_without_collisions():
    paradigm = tiny_config().paradigms[0]  # every 0.5 epochs
    assert measurement_epochs(paradigm, 2, steps_per_epoch=4) == [0.0, 0.5, 1.0, 1.5, 2.0]
    # one step per epoch: 0.5 cannot be measured apart from 0 or 1; it never replaces epoch 0
    assert measurement_epochs(paradigm, 2, steps_per_epoch=1) == [0.0, 1.0, 2.0]
    every_third = paradigm.model_copy(update={"measure_every": 3.0, "measure_extra": [0.25]})
    assert measurement_epochs(every_third, 7, steps_per_epoch=4) == [0.0, 0.25, 3.0, 6.0, 7.0]


# --- the tracked set and its labels ----------------------------------------------------------


def hook_of(config, train_config):
    return RecognitionHook(data=config.data, tracking=config.tracking,
                           eval_batch_size=config.eval_batch_size(train_config))  # fmt: skip


def test_tracked_images_are_training_images_and_random_targets_are_the_trained_labels():
    config = tiny_config()
    bundle = data.load("fmnist-mini")
    train_index, tracked = select_images(config.data, config.tracking, bundle)
    assert len(train_index) == 128 and len(tracked.indices) == TRACKED
    assert set(tracked.indices.tolist()) <= set(train_index.tolist())
    torch.testing.assert_close(train_index[tracked.positions], tracked.indices)
    paradigm = config.paradigm("random_labels")
    train_config = config.train_config(paradigm, 0, subset=train_index.tolist())
    tracker = hook_of(config, train_config).tracker(train_config, bundle)
    # drawn over the whole training set with the objective's label seed, as the engine does
    expected = random_labels(bundle.train.labels, 10, seed=3)[tracked.indices]
    torch.testing.assert_close(tracker.targets, expected)
    assert not torch.equal(tracker.targets, tracked.labels)
    assert tracker.degenerate and tracker.augmentations == 1


# --- the study end to end --------------------------------------------------------------------


def test_arrays_have_the_documented_shapes(study):
    config, out = study
    expected_epochs = {"supervised": [0, 0.5, 1, 1.5, 2], "simclr": [0, 1, 2],
                       "random_labels": [0, 1, 2]}  # fmt: skip
    views = {"supervised": VIEWS, "simclr": VIEWS, "random_labels": 1}  # none: degenerate
    for name, epochs in expected_epochs.items():
        np.testing.assert_array_equal(out.load_array(f"{name}-epochs"), epochs)
        shape = (SEEDS, len(epochs), views[name], TRACKED)
        indicators = out.load_array(f"{name}-indicators")
        assert indicators.shape == shape and indicators.dtype == np.uint8
        assert set(np.unique(indicators)) <= {0, 1}
        probabilities = out.load_array(f"{name}-probabilities")
        assert probabilities.shape == shape and probabilities.dtype == np.float16
        assert np.all((probabilities >= 0) & (probabilities <= 1))
        assert out.load_array(f"{name}-fixed").shape == (SEEDS, len(epochs), TRACKED)
        assert out.load_array(f"{name}-fixed_probabilities").dtype == np.float16
        assert out.load_array(f"{name}-tsne").shape == (40, 2)
        stages = out.load_array(f"{name}-activation_max")
        assert stages.shape == (4, 2, 1, 28, 28)
        assert np.all((stages >= 0) & (stages <= 1))
    assert out.load_array("tracked-ids").shape == (TRACKED,)
    # SimCLR has no labels; the classification paradigms store the labels they train on
    assert np.all(out.load_array("simclr-targets") == -1)
    np.testing.assert_array_equal(out.load_array("supervised-targets"),
                                  out.load_array("tracked-labels"))  # fmt: skip


def test_degenerate_paradigm_fixed_augmentation_is_its_single_view(study):
    _, out = study
    np.testing.assert_array_equal(
        out.load_array("random_labels-fixed"), out.load_array("random_labels-indicators")[:, :, 0]
    )


def test_last_measurement_matches_the_final_weights(study):
    config, out = study
    bundle = data.load("fmnist-mini")
    train_index, tracked = select_images(config.data, config.tracking, bundle)
    paradigm = config.paradigm("supervised")
    train_config = config.train_config(paradigm, 0, subset=train_index.tolist())
    tracker = hook_of(config, train_config).tracker(train_config, bundle)
    runs = sorted((out.path / "runs").glob("supervised-s1-*"))
    network = load_network(runs[0] / "checkpoints" / "final.safetensors")
    # Held as the engine holds it while training (channels_last): the memory format picks the
    # convolution algorithm, and a borderline recognition may flip with the rounding.
    network.to(memory_format=torch.channels_last)
    with torch.no_grad():
        measured = tracker(network, EPOCHS)
    np.testing.assert_array_equal(measured["indicators"],
                                  out.load_array("supervised-indicators")[1, -1])  # fmt: skip
    np.testing.assert_array_equal(measured["fixed"], out.load_array("supervised-fixed")[1, -1])


def test_tables_and_summary(study):
    config, out = study
    alignment = out.load_table("profile_alignment")
    for column in ["paradigm", "variant", "null", "target_p", "epoch", "mean_p", "mae", "mae_sd",
                   "chi2", "chi2_p"]:  # fmt: skip
        assert column in alignment.columns
    assert len(alignment) == 3 * 2 * 3 * 2  # paradigms x variants x targets x nulls
    assert set(alignment.null) == {"binomial", "network_block"}
    assert (out.path / "tables" / "profile_alignment.csv").exists()
    binomial = alignment[alignment.null == "binomial"]
    assert binomial[binomial.variant == "averaged"].chi2.isna().all()
    # the paper procedure (the default): T = N for averaged profiles as for fixed ones
    trials = binomial.groupby(["paradigm", "variant"]).trials.first()
    assert trials["supervised", "averaged"] == SEEDS
    assert trials["simclr", "fixed"] == SEEDS
    # the network-block null's counts are out of N M' views (M' = 1 when degenerate)
    block = alignment[alignment.null == "network_block"].groupby(["paradigm", "variant"])
    assert block.trials.first()["supervised", "averaged"] == SEEDS * VIEWS
    assert block.trials.first()["random_labels", "averaged"] == SEEDS
    assert alignment[alignment.null == "network_block"].mae_sd.gt(0).any()
    # both nulls are compared at the same aligned epoch and mean p
    pairs = alignment.pivot_table(index=["paradigm", "variant", "target_p"], columns="null",
                                  values=["epoch", "mean_p"])  # fmt: skip
    np.testing.assert_array_equal(pairs["epoch", "binomial"], pairs["epoch", "network_block"])
    recognition = out.load_table("recognition")
    assert len(recognition) == TRACKED * (5 + 3 + 3)
    supervised = recognition[(recognition.paradigm == "supervised") & (recognition.epoch == 2.0)]
    indicators = out.load_array("supervised-indicators")
    np.testing.assert_allclose(supervised.p, indicators[:, -1].mean(axis=(0, 1)))
    # paper procedure: the fixed augmentation is view 0 of the same M views
    np.testing.assert_allclose(supervised.p_fixed, indicators[:, -1, 0].mean(axis=0))
    # and SimCLR's profile uses the one-direction indicator
    simclr = recognition[(recognition.paradigm == "simclr") & (recognition.epoch == 2.0)]
    anchor = out.load_array("simclr-anchor_indicators")
    np.testing.assert_allclose(simclr.p, anchor[:, -1].mean(axis=(0, 1)))
    summary = json.loads((out.path / "summary.json").read_text())
    assert summary["headlines"] and all(isinstance(h, str) for h in summary["headlines"])
    assert any("network-block" in h for h in summary["headlines"])
    assert summary["procedure"] == "paper"
    assert 0 < summary["tracking_share"] < 1
    assert summary["paradigms"]["random_labels"]["augmentations"] == 1
    assert out.is_complete
    saved = yaml.safe_load((out.path / "config.yaml").read_text())
    assert Config.model_validate(saved) == config


def test_anchor_indicator_is_recorded_for_simclr_only(study):
    _, out = study
    anchor = out.load_array("simclr-anchor_indicators")
    mutual = out.load_array("simclr-indicators")
    assert anchor.shape == mutual.shape
    # both directions recognized (ties as misses) implies the first direction (ties as hits)
    assert np.all(anchor >= mutual)
    assert out.load_array("simclr-anchor_fixed").shape == out.load_array("simclr-fixed").shape
    assert not out.has_array("supervised-anchor_indicators")


def test_a_study_without_anchor_indicators_asks_for_a_rerun(study, tmp_path):
    config, out = study
    copy = RunDir(tmp_path / "old")
    for path in (out.path / "arrays").glob("*"):
        if "anchor" not in path.name:
            (copy.path / "arrays").mkdir(parents=True, exist_ok=True)
            (copy.path / "arrays" / path.name).write_bytes(path.read_bytes())
    (copy.path / "tables").mkdir()
    (copy.path / "tables" / "training.parquet").write_bytes(
        (out.path / "tables" / "training.parquet").read_bytes()
    )
    with pytest.raises(ValueError, match="simclr_indicator: mutual"):
        write_tables(config, copy)
    write_tables(config.model_copy(update={"simclr_indicator": "mutual"}), copy)
    assert copy.load_table("profile_alignment").paradigm.nunique() == 3


def test_mnemoscope_procedure_is_an_option(study):
    config, out = study
    write_tables(config.model_copy(update={"procedure": "mnemoscope"}), out)
    alignment = out.load_table("profile_alignment")
    binomial = alignment[alignment.null == "binomial"]
    trials = binomial.groupby(["paradigm", "variant"]).trials.first()
    assert trials["supervised", "averaged"] == SEEDS * VIEWS  # N M trials
    assert trials["random_labels", "averaged"] == SEEDS  # degenerate: M' = 1
    recognition = out.load_table("recognition")
    last = recognition[(recognition.paradigm == "simclr") & (recognition.epoch == 2.0)]
    np.testing.assert_allclose(last.p, out.load_array("simclr-indicators")[:, -1].mean(axis=(0, 1)))
    np.testing.assert_allclose(last.p_fixed, out.load_array("simclr-fixed")[:, -1].mean(axis=0))
    # a single choice can be overridden on top of a procedure
    write_tables(config.model_copy(update={"averaged_trials": "seeds_x_augmentations"}), out)
    alignment = out.load_table("profile_alignment")
    binomial = alignment[(alignment.null == "binomial") & (alignment.variant == "averaged")]
    assert binomial.groupby("paradigm").trials.first()["supervised"] == SEEDS * VIEWS
    write_tables(config, out)  # restore the study's own tables for the other tests


def test_learning_dynamics_tables(study):
    _, out = study
    dynamics = out.load_table("dynamics")
    assert len(dynamics) == 3 * TRACKED
    for column in ["forgetting_events", "never_learned", "confidence", "variability",
                   "correctness", "p"]:  # fmt: skip
        assert column in dynamics.columns
    assert dynamics.confidence.between(0, 1).all() and dynamics.correctness.between(0, 1).all()
    # correctness averages the indicators of every measurement after initialization
    indicators = out.load_array("supervised-indicators")
    supervised = dynamics[dynamics.paradigm == "supervised"]
    np.testing.assert_allclose(supervised.correctness, indicators[:, 1:].mean(axis=(0, 1, 2)))
    correlation = out.load_table("dynamics_correlation")
    assert set(correlation.score) == {"forgetting_events", "never_learned", "confidence",
                                      "variability", "correctness"}  # fmt: skip
    assert len(correlation) == 3 * 5
    rho = correlation.dropna(subset=["spearman"]).spearman
    assert rho.between(-1, 1).all() and len(rho) > 0


def test_figures_are_redrawn_from_stored_files_only(study):
    _, out = study
    for path in (out.path / "figures").glob("*.png"):
        path.unlink()
    drawn = draw_figures(out.path)
    names = {path.stem for path in drawn}
    assert {"fig1_profiles", "fig2_binomial", "fig3_aligned", "fig4_augmentations", "fig6_tsne",
            "fig7_activation_max", "data_map_supervised", "data_map_simclr"} <= names  # fmt: skip
    assert all(path.stat().st_size > 1000 for path in drawn)


def test_second_run_reuses_every_training(study, monkeypatch):
    config, out = study
    before = {path.parent.parent.name: path.stat().st_mtime_ns
              for path in (out.path / "runs").glob("*/checkpoints/final.safetensors")}  # fmt: skip

    def no_training(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr("mnemoscope.training.engine._train_loop", no_training)
    again = studies.run(config, out.path, quiet=True)
    assert again.is_complete
    after = {path.parent.parent.name: path.stat().st_mtime_ns
             for path in (out.path / "runs").glob("*/checkpoints/final.safetensors")}  # fmt: skip
    assert before == after and len(list((out.path / "runs").iterdir())) == 3 * SEEDS
