"""``run_demo`` and ``mnemoscope demo`` end to end, on tiny stand-ins for the packaged configs."""

import json

import pytest
from typer.testing import CliRunner

from mnemoscope import demo, studies
from mnemoscope.cli import app
from tests.studies.test_benign import tiny as tiny_benign
from tests.studies.test_profiles import tiny_config as tiny_profiles
from tests.studies.test_sslmem import TINY as TINY_SSLMEM


def tiny_configs() -> dict[str, dict]:
    return {
        "profiles": tiny_profiles().model_dump(mode="json"),
        "sslmem": dict(TINY_SSLMEM),
        "benign": tiny_benign().model_dump(mode="json"),
    }


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """One tiny demo through the CLI, with the packaged configs swapped for tiny ones."""
    configs = tiny_configs()
    asked = []

    def fake_packaged_config(study: str, scale: str) -> dict:
        asked.append((study, scale))
        return configs[study]

    patch = pytest.MonkeyPatch()
    patch.setattr(demo, "packaged_config", fake_packaged_config)
    out = tmp_path_factory.mktemp("demo") / "run"
    result = CliRunner().invoke(app, ["demo", "--quick", "--quiet", "--out", str(out)])
    yield out, result, asked, patch
    patch.undo()


def test_packaged_demo_and_quick_configs_exist_and_validate():
    for study in demo.DEMO_STUDIES:
        for scale in ("demo", "quick"):
            config = studies.load_config(demo.packaged_config(study, scale))
            assert config.study == study


def test_unknown_packaged_config_is_a_clear_error():
    with pytest.raises(FileNotFoundError, match="sslmem-huge.yaml"):
        demo.packaged_config("sslmem", "huge")


def test_demo_runs_every_study_into_one_directory_and_builds_the_report(demo_run):
    out, result, asked, _ = demo_run
    assert result.exit_code == 0, result.output
    assert asked == [(study, "quick") for study in demo.DEMO_STUDIES]
    for study in demo.DEMO_STUDIES:
        assert (out / study / "COMPLETE").is_file(), study
    meta = json.loads((out / "meta.json").read_text())
    assert meta["finished"] >= meta["started"]
    assert "environment" in meta
    report = out / "report.html"
    html = report.read_text()
    for study in demo.DEMO_STUDIES:
        assert f'id="study-{study}"' in html
    # the command ends with the headlines of every study and the report's path
    assert result.output.rstrip().endswith(f"report: {report}")
    for study, lines in demo.headlines(out).items():
        assert lines, study
        assert study in result.output
        assert lines[0][:40] in result.output
    # in the order the studies ran, as in the report
    assert list(demo.headlines(out)) == list(demo.DEMO_STUDIES)
    positions = [result.output.index(f"{study}\n") for study in demo.DEMO_STUDIES]
    assert positions == sorted(positions)
    assert 'id="smoke-test"' in html  # a --quick demo is a smoke test


def test_second_demo_reuses_the_finished_trainings(demo_run):
    out, _, _, _ = demo_run
    trainings = sorted(out.glob("*/runs/*/COMPLETE"))
    assert trainings
    before = {path: path.stat().st_mtime_ns for path in out.glob("*/runs/*/**/*.safetensors")}
    report = demo.run_demo(out, quick=True, quiet=True)
    after = {path: path.stat().st_mtime_ns for path in out.glob("*/runs/*/**/*.safetensors")}
    assert after == before  # no training ran again: no checkpoint was rewritten
    assert report == out / "report.html" and report.is_file()
