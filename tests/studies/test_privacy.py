"""The sslmem-privacy study (paper 002 table 5): DP-SGD rows beside the ordinary training."""

import json
import math
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mnemoscope import studies
from mnemoscope.reports import render_report
from mnemoscope.store import RunDir
from mnemoscope.studies import privacy
from mnemoscope.studies.privacy.study import TABLE
from tests.studies.conftest import TINY_PRIVACY as TINY


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("privacy")
    config = privacy.Config.model_validate(TINY)
    return config, out, studies.run(config, out, quiet=True)


def test_table_5_has_a_row_per_epsilon_with_the_accountants_epsilon(tiny_run):
    config, out, run_dir = tiny_run
    assert run_dir.is_complete and (out / "figures" / f"{TABLE}.png").exists()
    table = pd.read_csv(out / "tables" / f"{TABLE}.csv")
    assert list(table["variant"]) == ["epsilon-inf", "epsilon-8"]
    base, private = table.iloc[0], table.iloc[1]
    assert math.isinf(base["epsilon_target"]) and math.isinf(base["epsilon_spent"])
    # Every DP run of the row records its spend; the table holds the largest.
    runs = sorted((out / "sslmem" / "runs").glob("supervised-*"))
    spent = [json.loads((run / "meta.json").read_text()).get("privacy") for run in runs]
    spent = [record for record in spent if record is not None]
    assert len(spent) == 2 and len(runs) == 4  # f and g, with and without DP
    assert private["epsilon_spent"] == pytest.approx(max(r["epsilon"] for r in spent))
    assert 8 - 0.1 < private["epsilon_spent"] <= 8 + 1e-9
    assert private["delta"] == pytest.approx(1 / 32)  # n = |S_S| + |S_C| = |S_S| + |S_I|
    # The scores are the SSLMem study's table 1 rows, over the same candidates.
    methods = RunDir(out / "sslmem").load_table("sslmem_methods").set_index("variant")
    for row in table.itertuples():
        assert row.sslmem_mean == pytest.approx(methods.loc[row.variant, "score_norm_mean"])
        assert row.probe_accuracy == pytest.approx(methods.loc[row.variant, "probe_accuracy"])
        assert row.sslmem_ci_low <= row.sslmem_mean <= row.sslmem_ci_high
        assert row.n_candidates == 8
    headlines = json.loads((out / "summary.json").read_text())["headlines"]
    assert len(headlines) == 3 and "epsilon 8 against no DP" in headlines[-1]
    # the drop the claim's rule sees with 80% probability: in the table, and the claim's MDE
    assert math.isnan(base["sslmem_drop_mde"]) and private["sslmem_drop_mde"] > 0
    from mnemoscope import studies

    summary = json.loads((out / "summary.json").read_text())
    finding = studies.get("sslmem-privacy").findings(summary)[0]
    assert finding.measured.mde == pytest.approx(private["sslmem_drop_mde"])


def test_the_report_has_the_studys_section(tiny_run):
    _, out, _ = tiny_run
    text = render_report(out)
    assert "paper 002, table 5" in text and "epsilon-8" in text
    assert "<script" not in text


def test_packaged_configs_validate_and_the_paper_one_is_mae_on_vit_tiny():
    from mnemoscope.config_file import packaged_config

    for scale in ("quick", "paper"):
        config = privacy.Config.model_validate(packaged_config(f"sslmem-privacy-{scale}"))
        assert config.sslmem.train.objective.name == "mae"
    assert config.epsilons == [20, 8]  # table 5
    assert config.sslmem.train.model.name == "vit-tiny"
    cpu = Path(__file__).parents[2] / "configs" / "sslmem-privacy.yaml"
    cpu = privacy.Config.model_validate(yaml.safe_load(cpu.read_text()))
    # the CPU config's deviation (its header says why): DP-SGD turns its BatchNorms into
    # GroupNorm(32, C), which keeps a head of 128 units informative (4 values a group)
    assert cpu.epsilons == [20, 8] and cpu.sslmem.train.model.projector_hidden >= 128


def test_batch_coupled_training_is_refused_naming_the_method():
    raw = {**TINY, "sslmem": {**TINY["sslmem"], "train": {"objective": {"name": "simclr"}}}}
    with pytest.raises(ValueError, match="objective 'simclr' couples the examples"):
        privacy.Config.model_validate(raw)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"epsilons": [0]}, "not > 0"),
        ({"epsilons": [-2, 8]}, "not > 0"),
        ({"epsilons": ["many"]}, "valid number"),
        ({"epsilons": [8, 8.0]}, "repeat"),
        ({"dp": {"epsilon": 3}}, "dp.epsilon is set per row"),
        ({"dp": {"max_grad_norm": -1}}, "max_grad_norm must be"),
    ],
)
def test_bad_options_are_refused(change, message):
    with pytest.raises(ValueError, match=message):
        privacy.Config.model_validate({**TINY, **change})


def test_the_study_owns_compare_and_privacy_of_the_sslmem_config():
    sslmem = TINY["sslmem"]
    with pytest.raises(ValueError, match="compare.variants / lambdas are set by this study"):
        privacy.Config.model_validate({**TINY, "sslmem": {**sslmem, "compare": {"variants": [
            {"name": "other", "train": {"epochs": 2}}]}}})  # fmt: skip
    train = {**sslmem["train"], "privacy": {"epsilon": 4}}
    with pytest.raises(ValueError, match="sslmem.train.privacy is set by this study"):
        privacy.Config.model_validate({**TINY, "sslmem": {**sslmem, "train": train}})
    # an earlier version's nested execution moves to the top; beside another one, refused
    execution = {"backend": "processes", "workers": 2}
    with pytest.warns(UserWarning, match="sslmem.execution is now execution"):
        moved = privacy.Config.model_validate({**TINY, "sslmem": {**sslmem,
                                                                 "execution": execution}})
    assert moved.execution.backend == "processes" and moved.sslmem.execution is None
    with pytest.raises(ValueError, match="both sslmem.execution .* and execution are set"):
        privacy.Config.model_validate({**TINY, "execution": {"backend": "local"},
                                       "sslmem": {**sslmem, "execution": execution}})


def _row(epsilon, mean, low, high, accuracy):
    return {"epsilon_target": epsilon, "sslmem_mean": mean, "sslmem_ci_low": low,
            "sslmem_ci_high": high, "confidence": 0.95, "probe_accuracy": accuracy}  # fmt: skip


@pytest.mark.parametrize(
    ("tight", "memorization", "accuracy"),
    [
        (_row(8, 0.10, 0.05, 0.15, 0.50), "reproduced", "reproduced"),  # both fall, apart
        (_row(8, 0.28, 0.20, 0.35, 0.69), "undecided", "undecided"),  # intervals overlap
        (_row(8, 0.60, 0.55, 0.65, 0.80), "opposite", "opposite"),  # both rise
    ],
)
def test_the_table_5_claims_read_the_rows(tight, memorization, accuracy):
    from mnemoscope import studies
    from mnemoscope.analysis.claims import NotMeasured

    record = studies.get("sslmem-privacy")
    summary = {"privacy": [_row(None, 0.30, 0.25, 0.34, 0.70), tight]}
    verdicts = [f.measured.verdict for f in record.findings(summary)]
    assert verdicts == [memorization, accuracy]
    assert all(isinstance(f.measured, NotMeasured) for f in record.findings({"privacy": [tight]}))


def test_plan_lists_the_runs_the_study_trains(tiny_run):
    # `mnemoscope plan` reads study_specs: every run the study trained, each DP one with its budget
    config, out, _ = tiny_run
    from mnemoscope import data
    from mnemoscope.studies.privacy.study import study_specs

    specs = study_specs(config, data.load(config.data.name, **config.data.options))
    trained = sorted(p.name for p in (out / "sslmem" / "runs").iterdir() if p.is_dir())
    assert sorted(spec.run_name for spec in specs) == trained
    budgets = sorted(spec.config.privacy.epsilon for spec in specs if spec.config.privacy)
    assert budgets == [8, 8]  # f and g at epsilon 8; the baseline pair trains without DP
