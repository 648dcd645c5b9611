"""The Déjà Vu study (paper 002 table 4): splits, config validation, a tiny end-to-end run."""

import numpy as np
import pandas as pd
import pytest
import torch
from pydantic import ValidationError

from mnemoscope import data, studies
from mnemoscope.analysis.power import mde_mean
from mnemoscope.config_file import packaged_config
from mnemoscope.measure.dejavu import GROUPS
from mnemoscope.store import RunDir
from mnemoscope.studies import dejavu
from mnemoscope.studies.dejavu import study
from tests.studies.conftest import TINY_DEJAVU as TINY


@pytest.fixture(scope="module")
def fmnist():
    return data.load("fmnist-mini")


def test_halves_and_public_set_are_disjoint_sized_and_deterministic(fmnist):
    config = dejavu.Config.model_validate(TINY)
    halves, again = study.make_halves(fmnist, config), study.make_halves(fmnist, config)
    for name in halves:
        assert torch.equal(halves[name], again[name])
    a, b, public = halves["A"], halves["B"], halves["public"]
    assert (len(a), len(b), len(public)) == (80, 80, 60)
    assert len(torch.unique(torch.cat([a, b, public]))) == 220  # pairwise disjoint
    assert len(halves["scored"]) == 30 and torch.isin(halves["scored"], a).all()
    assert torch.isin(halves["scored_B"], b).all()
    assert torch.isin(halves["scored_public"], public).all()
    other = dejavu.Config.model_validate({**TINY, "splits": {**TINY["splits"], "seed": 1}})
    assert not torch.equal(study.make_halves(fmnist, other)["A"], a)


def test_each_side_trains_on_its_own_half_only(fmnist):
    config = dejavu.Config.model_validate(TINY)
    halves = study.make_halves(fmnist, config)
    specs = study.study_specs(config, fmnist)
    assert len(specs) == 2 * 2 * 2  # methods x sides x seeds
    subsets = {tuple(spec.config.data.subset) for spec in specs}
    assert subsets == {tuple(halves["A"].tolist()), tuple(halves["B"].tolist())}
    assert len({spec.run_name for spec in specs}) == 8


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"dejavu": {"k": 61}}, "dejavu.k = 61 is more than the 60 public images"),
        ({"dejavu": {**TINY["dejavu"], "tap": "layer9"}}, "method 'simclr': unknown tap 'layer9'"),
    ],
)
def test_a_measurement_that_cannot_work_is_refused_before_anything_is_written(
    tmp_path, change, message
):
    config = dejavu.Config.model_validate({**TINY, **change})
    with pytest.raises(ValueError, match=message):
        studies.run(config, tmp_path, quiet=True)
    assert not (tmp_path / "config.yaml").exists() and not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"measure": {"center": ["plain", "shared"]}}, "only the plain estimate"),
        ({"methods": [{"name": "a"}, {"name": "a"}]}, "used twice"),
        ({"methods": []}, "methods is empty"),
        ({"methods": [{"name": "a", "train": {"seed": 3}}]}, "seeds are the study's"),
        ({"splits": {"half": 0.45, "public": 0.2}}, "fractions sum to 1.1 > 1"),
        ({"dejavu": {"box": 1.0}}, "box"),
        ({"measure": {"extra_taps": ["output"]}}, "measure.tap only"),
    ],
)
def test_bad_configs_are_refused_with_the_reason(change, message):
    with pytest.raises(ValidationError, match=message):
        dejavu.Config.model_validate({**TINY, **change})


def test_the_study_is_registered_and_its_packaged_configs_validate():
    assert "sslmem-dejavu" in studies.names()
    # sslmem-dejavu-quick.yaml, sslmem-dejavu.yaml (CPU) and sslmem-dejavu-paper.yaml
    for scale in ("dejavu-quick", "dejavu", "dejavu-paper"):
        config = studies.load_config(packaged_config(f"sslmem-{scale}"))
        assert config.study == "sslmem-dejavu" and config.dejavu.k <= 100
    paper = studies.load_config(packaged_config("sslmem-dejavu-paper"))
    assert paper.dejavu.k == 100 and list(paper.method_trains()) == ["mae", "dino", "vicreg"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("dejavu")
    return studies.run(dejavu.Config.model_validate(TINY), out, quiet=True)


def test_a_tiny_run_writes_table4_flags_and_figure(tiny_run):
    assert tiny_run.is_complete
    table = tiny_run.load_table("sslmem_dejavu")
    assert table["method"].tolist() == ["simclr", "vicreg"]
    assert (table["seeds"] == 2).all() and (table["n_scored"] == 30).all()
    gap = table["accuracy_a"] - table["accuracy_b"]
    np.testing.assert_allclose(table["dejavu"], gap, atol=1e-12)
    fractions = table[[f"fraction_{group}" for group in GROUPS]].sum(axis=1)
    np.testing.assert_allclose(fractions, 1.0)
    assert table["probe_accuracy"].between(0, 1).all() and table["sslmem"].notna().all()
    images = tiny_run.load_table("sslmem_dejavu_images")
    assert len(images) == 2 * 2 * 30
    assert set(images["group"]) <= set(GROUPS)
    memorized = images["correct_a"] & ~images["correct_b"]
    assert ((images["group"] == "memorized") == memorized).all()
    # the per-image flags are the table's accuracies and gap, seed by seed
    seeds = tiny_run.load_table("sslmem_dejavu_seeds")
    by_seed = images.groupby(["method", "seed"], sort=False)
    gaps = by_seed["correct_a"].mean() - by_seed["correct_b"].mean()
    np.testing.assert_allclose(gaps.to_numpy(), seeds["dejavu"].to_numpy(), atol=1e-12)
    per_method = seeds.groupby("method", sort=False)["dejavu"]
    np.testing.assert_allclose(per_method.mean().to_numpy(), table["dejavu"], atol=1e-12)
    np.testing.assert_allclose(per_method.std().to_numpy(), table["dejavu_seed_std"].to_numpy())
    # the t-test's minimum detectable gap over the seeds (80% power, one-sided 0.05)
    expected = [mde_mean(sd, 2) for sd in per_method.std()]
    np.testing.assert_allclose(table["dejavu_mde"].to_numpy(), expected)
    assert (tiny_run.path / "figures" / "sslmem_dejavu_table4.png").exists()
    assert "scoring simclr" in RunDir(tiny_run.path).read_meta()["timings"]


def test_the_scored_images_are_as_trained_on_by_a_and_not_b(tiny_run, fmnist):
    config = dejavu.Config.model_validate(TINY)
    halves = study.make_halves(fmnist, config)
    images = tiny_run.load_table("sslmem_dejavu_images")
    ids = torch.as_tensor(images["id"].unique())
    assert torch.isin(ids, fmnist.train.ids[halves["A"]]).all()
    assert not torch.isin(ids, fmnist.train.ids[halves["B"]]).any()
    assert not torch.isin(ids, fmnist.train.ids[halves["public"]]).any()


def test_the_summary_has_one_headline_per_method_with_the_seed_spread(tiny_run):
    import json

    summary = json.loads((tiny_run.path / "summary.json").read_text())
    assert len(summary["headlines"]) == 2
    assert all("Déjà Vu" in line and "+-" in line and "SSLMem" in line
               for line in summary["headlines"])  # fmt: skip
    assert pd.DataFrame(summary["table4"])["method"].tolist() == ["simclr", "vicreg"]
