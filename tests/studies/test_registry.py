"""Every study of the registry keeps the contract the rest of mnemoscope relies on, checked on
its own quick config: the runs ``specs`` lists are the runs it trains, every claim is measured,
every figure it writes has a caption, its report section renders with its key figure, and
``plan`` finds its runs complete.

A new study folder passes this file or is not done (docs/adding-a-study.md)."""

import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from mnemoscope import data, studies
from mnemoscope.analysis.claims import Measured
from mnemoscope.cli import app
from mnemoscope.config_file import packaged_config
from mnemoscope.reports import render_report
from mnemoscope.studies.config import StudyConfig
from mnemoscope.studies.record import Study, StudySummary

NAMES = [study.name for study in studies.REGISTRY]


def test_the_registry_holds_one_complete_record_per_study():
    assert len(set(NAMES)) == len(NAMES) == len(studies.FOLDERS)
    for study in studies.REGISTRY:
        assert isinstance(study, Study)
        assert issubclass(study.config, StudyConfig) and issubclass(study.summary, StudySummary)
        assert study.config.model_fields["study"].default == study.name
        assert study.claims and all(claim.name and claim.effect for claim in study.claims)
        assert study.key_figure in study.captions
        assert study.repeated_key_figure is None or study.repeated_key_figure in study.captions
        config = study.config.model_validate(packaged_config(study.quick_config))
        assert config.data.name and config.describe()  # what plan and the report read
        assert studies.get(study.name) is study


def trained_runs(out: Path) -> set[str]:
    """The run directories under ``out/runs`` and a nested study's ``out/*/runs``."""
    return {path.name for path in [*out.glob("runs/*"), *out.glob("*/runs/*")] if path.is_dir()}


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_specs_are_the_runs_the_quick_config_trains(quick_runs, name):
    study = studies.get(name)
    out = quick_runs(name)
    config = study.config.model_validate(packaged_config(study.quick_config))
    bundle = data.load(config.data.name, **config.data.options)
    listed = {spec.run_name for spec in study.specs(config, bundle)}
    trained = trained_runs(out)
    assert listed <= trained
    # a study may train runs that only its results decide (removal's top-k): as many as listed
    assert listed == trained or name == "sslmem-removal"


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_every_claim_is_measured_on_the_quick_config(quick_runs, name):
    import json

    out = quick_runs(name)
    findings = studies.get(name).findings(json.loads((out / "summary.json").read_text()))
    missed = {f.claim.name: f.measured for f in findings if not isinstance(f.measured, Measured)}
    assert not missed


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_every_figure_is_captioned_and_the_section_renders(quick_runs, name):
    study = studies.get(name)
    out = quick_runs(name)
    figures = {path.stem for path in (out / "figures").glob("*.png")}
    assert study.key_figure in figures
    uncaptioned = {stem for stem in figures if stem not in study.captions
                   and not stem.startswith("data_map_")}  # one per paradigm: a named family
    assert not uncaptioned
    page = render_report(out)
    assert f'id="study-{out.name}"' in page
    assert f'id="study-{out.name}-{study.key_figure}"' in page
    assert len(re.findall(r'<tr class="finding">', page)) == len(study.claims)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_the_figures_over_study_seeds_are_captioned_and_hold_the_repeated_key_figure(
    quick_runs, name, tmp_path
):
    from mnemoscope.store import RunDir

    study = studies.get(name)
    out = quick_runs(name)
    # the quick run twice over, as two study seeds of a repeated run
    drawn = {path.stem for path in study.combined_figures({0: out, 1: out}, RunDir(tmp_path))}
    assert drawn == {path.stem for path in (tmp_path / "figures").glob("*.png")}
    assert drawn <= set(study.captions)
    assert (study.repeated_key_figure in drawn) if study.repeated_key_figure else not drawn


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_plan_lists_the_runs_as_complete(quick_runs, name, tmp_path):
    study = studies.get(name)
    out = quick_runs(name)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(packaged_config(study.quick_config)))
    result = CliRunner().invoke(app, ["plan", str(path), "--out", str(out), "--no-measure"],
                                env={"COLUMNS": "200"})  # fmt: skip
    assert result.exit_code == 0, result.output
    listed = int(result.output.split(" runs, ")[0].split()[-1])
    assert listed > 0 and f"{listed} runs, 0 to train" in result.output
