import json
import math

import pandas as pd
import pytest
import torch

from mnemoscope import augment, studies
from mnemoscope.studies.benign import Config
from mnemoscope.studies.benign.banks import bank_bundle, iid_groups
from mnemoscope.studies.benign.config import VerdictSpec
from mnemoscope.studies.benign.figures import draw_figures
from mnemoscope.studies.benign.probing import verdict
from mnemoscope.studies.benign.study import prepare_data
from mnemoscope.studies.benign.sweeps import (
    all_jobs,
    bank_epochs,
    label_noise_jobs,
    measurement_points,
    num_classes_jobs,
    trained_labels,
)
from tests.studies.conftest import tiny_benign


def test_defaults_are_the_papers():
    config = Config(study="benign")
    train = config.train
    assert (config.data.name, config.data.train_size) == ("cifar10", None)
    assert train.model.name == "resnet18"
    assert (train.model.projector_hidden, train.model.projector_norm) == (65536, "none")
    assert (train.optim.name, train.optim.lr, train.optim.schedule) == ("adam", 4e-3, "none")
    assert train.optim.weight_decay == 0 and train.batch_size == 256
    assert (train.objective.loss, train.augment.name) == ("mse", "benign")
    assert train.objective.mixup_alpha is not None and train.epochs == 5000
    # a partial train is laid over the paper's: what it leaves out stays the paper's
    partial = Config.model_validate({"study": "benign", "train": {"epochs": 3}}).train
    assert partial.model.projector_hidden == 65536 and partial.optim.lr == 4e-3
    assert config.probe.k == 20 and not config.probe.weighted
    assert config.verdict.fit_threshold == 1.0
    assert config.settings == ["random+da", "random", "clean+da", "clean"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"probe": {"taps": ["layer9"]}}, "unknown tap"),
        ({"probe": {"taps": ["layer1"]}}, "embedding"),
        ({"train": {"measure_at": [5]}}, "after the last epoch"),
        ({"settings": ["random", "bogus"]}, "settings"),
        ({"sweeps": {"num_classes": [1]}}, "num_classes"),
        ({"sweeps": {"label_noise": {"fractions": [1.5]}}}, "fractions"),
        ({"sweeps": {"iid": {"views": [1]}}}, "iid.views"),
        ({"toy": {"dim": 3, "class_dim": 3}}, "class_dim"),
        ({"unknown_key": 1}, "unknown_key"),
    ],
)
def test_bad_config_is_refused_naming_the_problem(override, message):
    with pytest.raises(ValueError, match=message):
        tiny_benign(**override)


def test_the_registry_finds_the_study():
    assert studies.get("benign").config is Config


def test_measurement_points_include_init_and_the_end():
    assert measurement_points(10, [2.5, 5, 12, 0]) == [0.0, 2.5, 5.0, 10.0]
    assert measurement_points(3, []) == [0.0, 3.0]


def test_bank_budget_keeps_the_number_of_steps():
    config = tiny_benign(sweeps={"epochs": 64, "banks": {"views": [1, 4, 16]}})
    assert [bank_epochs(config, views) for views in (1, 4, 16)] == [64, 16, 4]
    same_passes = tiny_benign(sweeps={"epochs": 64, "banks": {"views": [4], "budget": "epochs"}})
    assert bank_epochs(same_passes, 4) == 64


# -- verdict (definition 4.1) ------------------------------------------------------------------


def test_verdict_follows_definition_4_1():
    spec = VerdictSpec()
    assert verdict(1.0, 0.8, 0.7, spec)["verdict"] == "benign"
    assert verdict(1.0, 0.6, 0.7, spec)["verdict"] == "malign"
    assert verdict(1.0, 0.7, 0.7, spec)["verdict"] == "malign"  # must outperform, not tie
    not_fitted = verdict(0.9, 0.8, 0.7, spec)
    assert {key: not_fitted[key] for key in ("fits_random_labels", "probe_beats_init",
                                             "verdict")} == {  # fmt: skip
        "fits_random_labels": False,
        "probe_beats_init": True,
        "verdict": "no memorization",
    }
    lenient = VerdictSpec(fit_threshold=0.9, margin=0.05)
    assert verdict(0.9, 0.74, 0.7, lenient)["verdict"] == "malign"
    assert verdict(0.9, 0.76, 0.7, lenient)["verdict"] == "benign"


def test_verdict_over_seeds_needs_the_interval_to_clear_the_margin():
    spec = VerdictSpec(margin=0.02)
    init = [0.70, 0.71, 0.69]
    clear = verdict([1.0] * 3, [0.75, 0.755, 0.745], init, spec)
    assert clear["verdict"] == "benign" and clear["seeds"] == 3
    assert clear["gain_low"] > 0.02
    # a mean gain above the margin whose interval straddles it: no decision at this scale
    straddles = verdict([1.0] * 3, [0.76, 0.71, 0.72], init, spec)
    assert straddles["probe_beats_init"] and straddles["verdict"] == "undecided at this scale"
    below = verdict([1.0] * 3, [0.69, 0.70, 0.68], init, spec)
    assert below["verdict"] == "malign" and below["gain_high"] <= 0.02
    # one network that misses a label: no memorization for the setting
    assert verdict([1.0, 0.99, 1.0], [0.75, 0.755, 0.745], init, spec)["verdict"] == (
        "no memorization"
    )


def test_verdict_interval_is_the_t_interval_of_the_mean_gain():
    from scipy import stats

    gains = [0.031, 0.012, 0.044, 0.020]
    result = verdict([1.0] * 4, [0.7 + g for g in gains], [0.7] * 4, VerdictSpec(confidence=0.9))
    low, high = stats.t.interval(0.9, 3, loc=sum(gains) / 4, scale=stats.sem(gains))
    assert result["gain_low"] == pytest.approx(low) and result["gain_high"] == pytest.approx(high)
    # one network: the interval is the point gain, the paper's comparison
    single = verdict(1.0, 0.75, 0.7, VerdictSpec())
    assert single["gain_low"] == single["gain_high"] == pytest.approx(0.05)
    with pytest.raises(ValueError, match="one fit, probe and init"):
        verdict([1.0, 1.0], [0.7], [0.6, 0.6], VerdictSpec())


def test_verdict_seeds_add_networks_to_random_label_settings_only():
    config = tiny_benign(verdict={"networks": 3})
    jobs = [job for job in all_jobs(config, prepare_data(config)) if job.sweep == "verdict_seeds"]
    assert sorted((job.params["setting"], job.config.seed) for job in jobs) == [
        ("random", 1), ("random", 2), ("random+da", 1), ("random+da", 2)]  # fmt: skip
    assert len({job.spec(config).run_name for job in jobs}) == 4
    assert all(job.random_labels for job in jobs)


def test_verdict_table_over_seeds(tmp_path):
    config = tiny_benign(settings=["random"], toy={"enabled": False}, verdict={"networks": 2})
    store = studies.run(config, tmp_path, quiet=True)
    assert len(list((store.path / "runs").iterdir())) == 2
    row = _table(store, "benign_verdict").iloc[0]
    assert row.seeds == 2 and row.gain_low <= row.gain <= row.gain_high
    assert row.gain == pytest.approx(row.probe_acc - row.init_probe_acc)
    assert row.verdict in {"benign", "malign", "no memorization", "undecided at this scale"}
    summary = json.loads((store.path / "summary.json").read_text())
    assert any("seed interval" in line for line in summary["headlines"])


# -- the labels the study builds ---------------------------------------------------------------


@pytest.fixture(scope="module")
def study_data():
    return prepare_data(tiny_benign())


def test_subsets_are_class_balanced(study_data):
    labels = study_data.bundle.train.labels
    counts = torch.bincount(labels[study_data.train_index], minlength=10)
    assert len(study_data.train_index) == 60 and counts.min() >= 4 and counts.max() <= 8
    assert torch.equal(study_data.probe.fit_index, study_data.train_index)
    assert len(study_data.probe.test_labels) == 100
    assert study_data.probe.invariance_views.shape == (8, 2, 1, 28, 28)


def test_bank_views_share_their_images_label(study_data):
    source = study_data.bundle
    index = study_data.train_index[:10]
    augmentation = augment.get("benign", size=28, crop_scale=(0.5, 1.0))
    labels = study_data.random_labels[index]
    bundle = bank_bundle(source, index, augmentation, views=3, seed=0, labels=labels)
    assert bundle.train.images.shape == (30, 1, 28, 28)
    assert torch.equal(bundle.train.labels.view(10, 3), labels[:, None].expand(10, 3))
    views = bundle.train.images.view(10, 3, -1).float()
    assert (views[:, 0] - views[:, 1]).abs().sum(1).min() > 0  # three different views
    assert bundle.test is source.test


def test_per_view_bank_gives_every_view_its_own_random_label(study_data):
    config = tiny_benign(sweeps={"banks": {"views": [4], "modes": ["per_view"]}})
    jobs = [job for job in all_jobs(config, study_data) if job.sweep == "banks"]
    assert len(jobs) == 1 and jobs[0].targets.trained_labels is None
    bundle = jobs[0].bundle(study_data.bundle)
    # plan counts a bank's images without building it: the count must be what build gives
    assert jobs[0].recipe.training_shape(study_data.bundle) == (240, bundle.image_size)
    assert bundle.train.images.shape == (240, 1, *bundle.image_size)
    labels = trained_labels(jobs[0].config, bundle).view(60, 4)
    assert labels.max() < 10
    differing = (labels != labels[:, :1]).any(dim=1).float().mean().item()
    assert differing > 0.5  # i.i.d. over 10 classes: 1 - 0.1^3 of the images
    preserving = tiny_benign(sweeps={"banks": {"views": [4], "modes": ["label_preserving"]}})
    job = [job for job in all_jobs(preserving, study_data) if job.sweep == "banks"][0]
    kept = trained_labels(job.config, job.bundle(study_data.bundle)).view(60, 4)
    assert torch.equal(
        kept, study_data.random_labels[study_data.train_index][:, None].expand(60, 4)
    )


def test_iid_groups_are_same_class_images_never_reused(study_data):
    labels = study_data.bundle.train.labels
    anchors = study_data.train_index
    pool = torch.arange(len(labels))[~torch.isin(torch.arange(len(labels)), anchors)]
    groups = iid_groups(labels, anchors, pool, views=4, seed=0)
    assert groups.shape == (60, 4)
    assert torch.equal(groups[:, 0], anchors)
    assert (labels[groups] == labels[anchors][:, None]).all()
    assert groups.flatten().unique().numel() == groups.numel()
    assert not torch.isin(groups[:, 1:], anchors).any()
    with pytest.raises(ValueError, match="class"):
        iid_groups(labels, anchors, pool[:50], views=4, seed=0)


def test_iid_views_carry_the_anchor_label(study_data):
    config = tiny_benign(sweeps={"iid": {"views": [3]}})
    jobs = {job.label: job for job in all_jobs(config, study_data) if job.sweep == "iid"}
    random_job, clean_job = jobs["random+iid B=3"], jobs["clean+iid B=3"]
    anchors = study_data.train_index
    random_views = random_job.bundle(study_data.bundle).train.labels.view(60, 3)
    assert torch.equal(random_views, study_data.random_labels[anchors][:, None].expand(60, 3))
    clean_views = clean_job.bundle(study_data.bundle).train.labels.view(60, 3)
    assert torch.equal(clean_views[:, 0], study_data.bundle.train.labels[anchors])
    # the other views are same-class training images outside the s images and the probe set
    config_probe = tiny_benign(data={"probe_size": 200}, sweeps={"iid": {"views": [3]}})
    wider = prepare_data(config_probe)
    job = next(job for job in all_jobs(config_probe, wider) if job.label == "clean+iid B=3")
    images = job.bundle(wider.bundle).train.images.view(60, 3, -1)
    fit_only = wider.probe.fit_index[~torch.isin(wider.probe.fit_index, wider.train_index)]
    others = wider.bundle.train.images[fit_only].view(len(fit_only), -1)
    for view in images[:, 1:].reshape(-1, images.shape[-1])[:30]:
        assert not (others == view).all(dim=1).any()
    assert random_job.random_labels and not clean_job.random_labels


def test_num_classes_and_per_sample_labels(study_data):
    config = tiny_benign(sweeps={"num_classes": [3, "per_sample"]})
    three, per_sample = num_classes_jobs(config, study_data)
    labels = three.targets.trained_labels
    assert labels.max() <= 2 and len(labels.unique()) == 3
    assert torch.equal(three.targets.noisy_labels, labels)
    unique = per_sample.targets.trained_labels
    assert torch.equal(unique.sort().values, torch.arange(60))
    assert per_sample.targets.noisy_labels is None  # a left-out image can never find its label
    assert per_sample.config.objective.per_sample


def test_label_noise_keeps_the_documented_fraction(study_data):
    config = tiny_benign(
        data={"train_size": 1000},
        invariance={"images": 8},
        sweeps={"label_noise": {"fractions": [0.0, 0.5, 1.0], "augmented": [False]}},
    )
    bigger = prepare_data(config)
    clean = bigger.bundle.train.labels[bigger.train_index]
    agreement = {}
    for job in label_noise_jobs(config, bigger):
        labels = job.targets.trained_labels
        agreement[job.params["label_noise"]] = (labels == clean).float().mean().item()
    # noise f: a fraction f redrawn uniformly (the true class included): 1 - f + f / C agree
    assert agreement[0.0] == 1.0
    assert abs(agreement[0.5] - 0.55) < 0.05
    assert abs(agreement[1.0] - 0.10) < 0.04


def test_clean_settings_are_probed_against_the_studys_random_labels(study_data):
    jobs = {job.label: job for job in all_jobs(tiny_benign(), study_data) if job.sweep == "main"}
    index = study_data.train_index
    clean = jobs["clean"].targets
    assert torch.equal(clean.trained_labels, study_data.bundle.train.labels[index])
    assert torch.equal(clean.noisy_labels, study_data.random_labels[index])
    assert torch.equal(jobs["random"].targets.trained_labels, study_data.random_labels[index])
    assert jobs["random+da"].config.save_epochs == [0] and not jobs["random"].config.save_epochs


def test_too_small_a_training_set_for_the_invariance_sample_is_refused():
    with pytest.raises(ValueError, match="invariance.images"):
        prepare_data(tiny_benign(invariance={"images": 500}))


def test_transfer_target_with_other_channels_is_refused(tmp_path):
    config = tiny_benign(sweeps={"transfer": [{"name": "digits", "options": {"channels": 3}}]})
    with pytest.raises(ValueError, match="channels"):
        studies.run(config, tmp_path, quiet=True)
    assert not (tmp_path / "runs").exists()  # refused before any training


# -- a whole study, twice ----------------------------------------------------------------------


SWEEPS = {
    "banks": {"views": [2]},
    "iid": {"views": [2]},
    "num_classes": ["per_sample"],
    "label_noise": {"fractions": [0.5], "augmented": [True]},
    "projector_hidden": [0],
    "randaugment": [2],
    "transfer": [{"name": "digits", "options": {"size": 28, "limit": 200}}],
}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("benign")
    config = tiny_benign(sweeps=SWEEPS)
    studies.run(config, out, quiet=True)
    checkpoints = sorted((out / "runs").glob("*/checkpoints/final.safetensors"))
    stamps = {path: path.stat().st_mtime_ns for path in checkpoints}
    first_summary = json.loads((out / "summary.json").read_text())
    store = studies.run(config, out, quiet=True)
    return store, stamps, first_summary


def _table(store, name):
    return pd.read_csv(store.path / "tables" / f"{name}.csv")


def test_probe_table_has_every_setting_tap_and_probe(finished):
    store, _, _ = finished
    probes = _table(store, "benign_probes")
    assert list(probes.columns) == ["setting", "epoch", "tap", "probe", "accuracy"]
    assert set(probes.setting) == {"random+da", "random", "clean+da", "clean", "init"}
    assert set(probes.tap) == {
        "layer1",
        "layer2",
        "layer3",
        "layer4",
        "embedding",
        "projector_hidden",
        "output",
    }
    assert set(probes.probe) == {"clean_knn", "noisy_knn", "linear"}
    assert set(probes[probes.setting == "init"].epoch) == {0.0}
    assert set(probes[probes.setting == "random"].epoch) == {0.0, 1.0}
    assert probes.accuracy.between(0, 1).all()
    linear = probes[probes.probe == "linear"]
    assert set(linear.tap) == {"embedding"}


def test_verdict_table_and_summary(finished):
    store, _, _ = finished
    verdicts = _table(store, "benign_verdict")
    assert list(verdicts.columns[:6]) == [
        "setting",
        "fits_random_labels",
        "train_acc_random",
        "probe_acc",
        "init_probe_acc",
        "verdict",
    ]
    assert list(verdicts.setting) == ["random+da", "random"]
    assert set(verdicts.verdict) <= {"benign", "malign", "no memorization"}
    probes = _table(store, "benign_probes")
    for row in verdicts.itertuples():
        final = probes[
            (probes.setting == row.setting)
            & (probes.epoch == 1.0)
            & (probes.tap == "embedding")
            & (probes.probe == "clean_knn")
        ]
        assert math.isclose(row.probe_acc, final.accuracy.iloc[0])
        assert row.fits_random_labels == (row.train_acc_random >= 1.0)
    summary = json.loads((store.path / "summary.json").read_text())
    assert summary["headlines"] and all(isinstance(line, str) for line in summary["headlines"])
    assert [v["setting"] for v in summary["verdicts"]] == ["random+da", "random"]
    assert set(summary["toy"]) >= {"test_knn_fewest", "test_knn_most", "small_n"}


def test_invariance_table(finished):
    store, _, _ = finished
    invariance = _table(store, "benign_invariance")
    assert list(invariance.columns) == ["setting", "epoch", "tap", "invariance"]
    assert (invariance.invariance > 0).all()
    assert "init" in set(invariance.setting)


def test_one_table_and_figure_per_sweep(finished):
    store, _, _ = finished
    for name, columns in {
        "benign_banks": {"views", "mode", "clean_knn", "loss", "verdict"},
        "benign_iid": {"setting", "views", "clean_knn"},
        "benign_num_classes": {"num_classes", "clean_knn"},
        "benign_label_noise": {"label_noise", "augmented", "clean_knn"},
        "benign_projector": {"projector_hidden", "clean_knn"},
        "benign_randaugment": {"strength", "clean_knn"},
        "benign_transfer": {"target", "setting", "label_noise", "augmented", "accuracy"},
        "benign_toy": {"samples", "augmentations", "test_knn"},
    }.items():
        assert columns <= set(_table(store, name).columns), name
    banks = _table(store, "benign_banks")
    assert set(banks["mode"]) == {"label_preserving", "per_view"}
    iid = _table(store, "benign_iid")
    assert {"random", "clean", "random+da", "clean+da", "random+iid", "clean+iid"} == set(
        iid.setting
    )
    transfer = _table(store, "benign_transfer")
    assert "init" in set(transfer.setting) and transfer.accuracy.between(0, 1).all()
    figures = {path.stem for path in (store.path / "figures").glob("*.png")}
    assert figures == {
        "benign_fig4_probes",
        "benign_fig7_invariance",
        "benign_training",
        "benign_fig6_banks",
        "benign_table3_iid",
        "benign_fig9_num_classes",
        "benign_fig11_13_label_noise",
        "benign_fig8_projector",
        "benign_fig12_randaugment",
        "benign_fig10_transfer",
        "benign_fig14_toy",
    }


def test_second_run_reuses_the_trainings(finished):
    store, stamps, first_summary = finished
    assert stamps  # the first run trained networks
    for path, stamp in stamps.items():
        assert path.stat().st_mtime_ns == stamp, path
    assert len(list((store.path / "runs").iterdir())) == len(stamps)
    summary = json.loads((store.path / "summary.json").read_text())
    assert summary["verdicts"] == first_summary["verdicts"]
    assert store.is_complete
    meta = json.loads((store.path / "meta.json").read_text())
    assert {"environment", "started", "finished"} <= set(meta)


def test_figures_are_redrawn_from_the_tables_alone(finished, tmp_path):
    store, _, _ = finished
    copy = tmp_path / "copy"
    (copy / "tables").mkdir(parents=True)
    for path in (store.path / "tables").glob("*.parquet"):
        (copy / "tables" / path.name).write_bytes(path.read_bytes())
    chance = json.loads((store.path / "summary.json").read_text())["chance"]
    written = draw_figures(copy, chance)
    assert len(written) == 11 and all(path.exists() for path in written)


def test_empty_sweeps_write_no_sweep_tables(tmp_path):
    config = tiny_benign(settings=["random"], toy={"enabled": False})
    store = studies.run(config, tmp_path, quiet=True)
    tables = {path.stem for path in (store.path / "tables").glob("*.csv")}
    assert tables == {"benign_probes", "benign_verdict", "benign_invariance", "benign_training"}
