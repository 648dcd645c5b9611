"""SSLMem's ``compare``: variants on the same splits (paper 002 table 1, fig. 4, table 13)."""

import json
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from mnemoscope import studies
from mnemoscope.analysis import reliability
from mnemoscope.config_file import packaged_config
from mnemoscope.measure.alignment import memorization_score
from mnemoscope.store import RunDir
from mnemoscope.studies import sslmem
from mnemoscope.studies.sslmem import compare
from mnemoscope.studies.sslmem.figures import draw_figures

BASE = {
    "study": "sslmem",
    "train": {
        "model": {"name": "convnet-tiny", "projector_hidden": 32, "output_dim": 16},
        "objective": {"name": "simclr", "temperature": 0.2},
        "epochs": 1,
        "batch_size": 32,
    },
}


def _config(**compare_section):
    return sslmem.Config.model_validate({**BASE, "compare": compare_section})


def test_variants_merge_into_the_base_train_and_lambdas_expand():
    config = _config(
        base_name="simclr",
        variants=[
            {"name": "vicreg", "train": {"objective": {"name": "vicreg"}, "epochs": 3}},
            {"name": "warm", "train": {"objective": {"temperature": 0.5}}},
        ],
        lambdas=[0.25, 0.5],
    )
    trains = config.variant_trains()
    assert list(trains) == ["simclr", "vicreg", "warm", "lambda-0.25", "lambda-0.5"]
    assert trains["simclr"] == config.train
    # another objective replaces the base's (no temperature carried over); the rest is merged
    assert trains["vicreg"].objective.name == "vicreg" and trains["vicreg"].epochs == 3
    assert trains["vicreg"].model == config.train.model
    # the same objective is merged key by key
    assert trains["warm"].objective.temperature == 0.5 and trains["warm"].epochs == 1
    for value in (0.25, 0.5):
        expected = config.train.model_copy(update={"alignment_lambda": value})
        assert trains[f"lambda-{value:g}"] == expected
    assert compare.groups(config) == {
        "simclr": "base", "vicreg": "variant", "warm": "variant",
        "lambda-0.25": "lambda", "lambda-0.5": "lambda",
    }  # fmt: skip
    assert compare.progress_steps(config) == 4 * 2 * len(config.seeds)
    # lambda 0 is the base's own value: the base row is that point of fig. 4
    assert list(_config(lambdas=[0, 0.5]).variant_trains()) == ["base", "lambda-0.5"]


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"variants": [{"name": "x", "train": {"objective": {"name": "simclrr"}}}]},
         r"(?s)compare variant 'x'.*'simclrr'"),
        ({"variants": [{"name": "mae", "train": {"objective": {"name": "mae"}}}]},
         r"(?s)compare variant 'mae'.*vit-tiny"),
        ({"variants": [{"name": "a"}, {"name": "a"}]}, "'a' is used twice"),
        ({"variants": [{"name": "base"}]}, "'base' is used twice"),
        ({"variants": [{"name": "lambda-0.5"}], "lambdas": [0.5]}, "'lambda-0.5' is used twice"),
        ({"variants": [{"name": "s", "train": {"seed": 4}}]}, "sets train.seed"),
        ({"variants": [{"name": "s", "train": {"data": {"subset": [1]}}}]}, "dataset is `data`"),
        ({"variants": [{"name": "s", "train": {"epochs": 0}}]}, "compare variant 's'"),
        ({"variants": [{"name": "two words"}]}, "pattern"),
        ({"lambdas": [0.5, 1.5]}, r"\[1.5\] are outside \[0, 1\]"),
        ({"lambdas": [0.5, 0.5]}, "repeat"),
        ({"probe": "svm"}, "probe"),
    ],
)  # fmt: skip
def test_bad_variants_are_refused_with_the_value(section, message):
    with pytest.raises(ValidationError, match=message):
        _config(**section)


def test_lambda_needs_a_self_supervised_base():
    raw = {**BASE, "train": {**BASE["train"], "objective": {"name": "supervised"}}}
    with pytest.raises(ValidationError, match="(?s)compare variant 'lambda-0.5'.*supervised"):
        sslmem.Config.model_validate({**raw, "compare": {"lambdas": [0.5]}})


def test_a_tap_a_variant_lacks_is_refused_before_training(tmp_path):
    raw = {
        **BASE,
        "train": {**BASE["train"], "model": {"name": "vit-tiny", "projector_hidden": 32}},
        "measure": {"tap": "tokens"},
        "compare": {"variants": [{"name": "conv", "train": {"model": {"name": "convnet-tiny"}}}]},
    }
    with pytest.raises(ValueError, match="compare variant 'conv': unknown tap 'tokens'"):
        studies.run(sslmem.Config.model_validate(raw), tmp_path, quiet=True)
    assert not (tmp_path / "runs").exists()


def test_method_row_spread_over_seeds_matches_the_headline():
    rng = np.random.default_rng(0)
    points = pd.DataFrame({
        "id": np.arange(12), "subset": ["S_C"] * 5 + ["S_S"] * 4 + ["S_I"] * 3,
        "kind": ["ordinary"] * 4 + ["noise"] + ["ordinary"] * 7, "label": 0,
    })  # fmt: skip
    align_f, align_g = rng.uniform(0.5, 1.0, (3, 12)), rng.uniform(0.5, 1.0, (3, 12))
    for center in ("plain", "shared"):
        scores = sslmem.tables.scores_table(points, align_f, align_g, [center])
        row = compare.method_row(_config().train, scores, align_f, align_g, center)
        raw = memorization_score(align_f, align_g, center=center, shared=np.arange(5, 9))
        spread = raw.max() - raw.min()
        per_seed = [
            memorization_score(align_f[[k]], align_g[[k]], center=center,
                               shared=np.arange(5, 9))[:4].mean() / spread
            for k in range(3)
        ]  # fmt: skip
        assert row["n_candidates"] == 4  # the planted noise image is left out
        assert row["score_raw_mean"] == pytest.approx(raw[:4].mean())
        assert row["score_norm_mean"] == pytest.approx(np.mean(per_seed))
        assert row["score_norm_seed_std"] == pytest.approx(np.std(per_seed, ddof=1))


TINY = {
    **BASE,
    "seeds": [0, 1],
    "splits": {"shared": 60, "candidates": 20, "independent": 20, "extra": 20},
    "measure": {"pairs": 2},
    "feldman": {"enabled": True, "seeds": [0], "epochs": 1},
    "stats": {"bootstrap_resamples": 200, "top_ks": [5, 10]},
    "compare": {
        "variants": [
            {"name": "vicreg", "train": {"objective": {"name": "vicreg"}, "epochs": 2}},
            {"name": "same", "train": {}},  # equal to the base: reuses its runs
        ],
        "lambdas": [0.5],
        "probe": "knn",
    },
}
METHOD_COLUMNS = [
    "variant", "group", "method", "architecture", "alignment_lambda", "epochs", "seeds", "center",
    "n_candidates", "score_norm_mean", "score_norm_seed_std", "score_raw_mean", "pairs",
    "reliability", "probe", "probe_accuracy", "probe_accuracy_seed_std",
]  # fmt: skip


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("sslmem-compare")
    config = sslmem.Config.model_validate(TINY)
    return config, out, studies.run(config, out, quiet=True)


def test_methods_table_has_a_row_per_training(tiny_run):
    _, out, run_dir = tiny_run
    methods = run_dir.load_table("sslmem_methods")
    assert list(methods.columns) == METHOD_COLUMNS
    assert methods["variant"].tolist() == ["base", "vicreg", "same", "lambda-0.5"]
    assert methods["method"].tolist() == ["simclr", "vicreg", "simclr", "simclr"]
    assert methods["epochs"].tolist() == [1, 2, 1, 1]
    assert methods["alignment_lambda"].tolist() == [0.0, 0.0, 0.0, 0.5]
    assert (methods["n_candidates"] == 20).all() and (methods["seeds"] == 2).all()
    assert methods["probe_accuracy"].between(0, 1).all()
    assert (methods["score_norm_seed_std"] >= 0).all()
    # the base row is the study's headline; a variant equal to the base reproduces it
    summary = run_dir.load_table("sslmem_summary")
    headline = summary[(summary["center"] == "plain") & (summary["subset"] == "S_C")]
    assert methods.loc[0, "score_norm_mean"] == pytest.approx(headline["mean"].iloc[0])
    numeric = ["score_norm_mean", "score_norm_seed_std", "score_raw_mean", "probe_accuracy"]
    np.testing.assert_allclose(methods.loc[2, numeric].astype(float),
                               methods.loc[0, numeric].astype(float))  # fmt: skip
    assert methods.loc[1, "score_raw_mean"] != methods.loc[0, "score_raw_mean"]
    per_point = run_dir.load_table("sslmem_method_scores")
    assert per_point.groupby("variant").size().to_dict() == {
        name: 80 for name in methods["variant"]
    }  # fmt: skip


def test_agreement_table_covers_every_pair(tiny_run):
    _, _, run_dir = tiny_run
    agreement = run_dir.load_table("sslmem_agreement")
    names = ["base", "vicreg", "same", "lambda-0.5", "supervised SSLMem", "supervised Feldman"]
    pairs = list(agreement[["a", "b"]].drop_duplicates().itertuples(index=False, name=None))
    assert pairs == list(combinations(names, 2))
    assert set(agreement["k"]) == {5, 10, 20}  # k = n = 20 is tau over all candidates
    assert agreement["tau"].between(-1, 1).all() and agreement["p_value"].between(0, 1).all()
    same = agreement[(agreement["a"] == "base") & (agreement["b"] == "same")]
    np.testing.assert_allclose(same["tau"], 1.0)  # the very same scores: identical rankings
    assert (same["overlap"] == 1).all()
    overall = compare.overall_tau(agreement)
    assert len(overall) == 15 and (overall["k"] == 20).all()
    # the Feldman pair is table 12's, computed by the same function
    ranking = run_dir.load_table("sslmem_ranking")
    expected = ranking[(ranking["a"] == "sslmem_supervised") & (ranking["b"] == "feldman")]
    got = agreement[agreement["a"] == "supervised SSLMem"]
    np.testing.assert_allclose(got["tau"], expected["tau"])
    # every pair's noise ceiling, from the two scores' reliabilities (Feldman's: 1)
    np.testing.assert_allclose(got["tau_ceiling"], expected["tau_ceiling"], equal_nan=True)
    methods = run_dir.load_table("sslmem_methods").set_index("variant")["reliability"]
    for row in overall.itertuples():
        assert row.reliability_a == pytest.approx(methods.get(row.a, row.reliability_a))
        ceiling = reliability.noise_ceiling(row.reliability_a, row.reliability_b)[1]
        assert row.tau_ceiling == pytest.approx(ceiling)
    assert (overall[overall["b"] == "supervised Feldman"]["reliability_b"] == 1.0).all()


def test_summary_and_figures(tiny_run):
    _, out, run_dir = tiny_run
    summary = json.loads((out / "summary.json").read_text())
    assert [row["variant"] for row in summary["methods"]] == ["base", "vicreg", "same",
                                                               "lambda-0.5"]  # fmt: skip
    table_lines = [line for line in summary["headlines"] if line.startswith("table 1 ")]
    assert len(table_lines) == 4 and "[vicreg] vicreg" in table_lines[1]
    tau = summary["methods_tau"]
    assert tau["pairs"] == 6 and tau["max"] == pytest.approx(1.0)
    assert -1 <= tau["min"] <= tau["max"]
    (line,) = [line for line in summary["headlines"] if line.startswith("table 13: Kendall tau")]
    assert f"noise ceilings {tau['ceiling_min']:.3f} to {tau['ceiling_max']:.3f}" in line
    new = {"sslmem_table1_methods", "sslmem_fig4_lambda", "sslmem_table13_agreement"}
    for name in new:
        (out / "figures" / f"{name}.png").unlink()
    classes = summary["classes"]
    written = {path.stem for path in draw_figures(RunDir(out), classes)}
    assert new <= written
    assert all((out / "figures" / f"{name}.png").stat().st_size > 0 for name in new)


def test_rerun_reuses_every_training(tiny_run):
    config, out, run_dir = tiny_run
    checkpoints = sorted((out / "runs").glob("*/checkpoints/final.safetensors"))
    # base 2 f + 2 g, vicreg 4, lambda 4, supervised 2; "same" has no runs of its own
    assert len(checkpoints) == 14
    stamps = [path.stat().st_mtime_ns for path in checkpoints]
    before = run_dir.load_table("sslmem_methods")
    studies.run(config, out, quiet=True)
    assert [path.stat().st_mtime_ns for path in checkpoints] == stamps
    pd.testing.assert_frame_equal(RunDir(out).load_table("sslmem_methods"), before)


def test_a_run_without_variants_writes_one_row(tmp_path):
    raw = {**TINY, "compare": {}, "feldman": {"enabled": False}, "seeds": [0]}
    run_dir = studies.run(sslmem.Config.model_validate(raw), tmp_path, quiet=True)
    methods = run_dir.load_table("sslmem_methods")
    assert methods["variant"].tolist() == ["base"] and methods["group"].tolist() == ["base"]
    assert np.isnan(methods.loc[0, "score_norm_seed_std"])  # one seed: no spread
    assert not (tmp_path / "tables" / "sslmem_agreement.parquet").exists()
    assert not (tmp_path / "figures" / "sslmem_table13_agreement.png").exists()


@pytest.mark.parametrize("scale", ["methods", "lambda", "methods-paper", "lambda-paper"])
def test_packaged_comparison_configs_validate(scale):
    config = studies.load_config(packaged_config(f"sslmem-{scale}"))
    assert config.study == "sslmem" and len(config.variant_trains()) >= 4
