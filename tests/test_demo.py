"""``run_demo`` and ``mnemoscope demo`` end to end, on tiny stand-ins for the packaged configs."""

import json
from datetime import datetime

import pytest
from typer.testing import CliRunner

from mnemoscope import demo, studies
from mnemoscope.analysis.claims import Measured
from mnemoscope.cli import app
from mnemoscope.reports.findings import SMOKE_TEST
from mnemoscope.studies.repeat import RepeatSpec
from tests.conftest import demo_results as _demo_results
from tests.studies.conftest import tiny_configs


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """One tiny demo through the CLI, with the packaged configs swapped for tiny ones."""
    configs = tiny_configs()
    asked = []

    def fake_packaged_config(name: str) -> dict:
        asked.append(name)
        return configs[name.removesuffix("-quick")]

    patch = pytest.MonkeyPatch()
    patch.setattr(demo, "packaged_config", fake_packaged_config)
    out = tmp_path_factory.mktemp("demo") / "run"
    result = CliRunner().invoke(app, ["demo", "--quick", "--quiet", "--out", str(out)])
    yield out, result, asked, patch
    patch.undo()


def test_packaged_demo_and_quick_configs_exist_and_validate():
    for quick in (False, True):
        for study, name in demo.demo_studies(quick):
            config = studies.load_config(demo.packaged_config(name))
            assert config.study == study.name
            # the full demo repeats every study over three study seeds; --quick runs once
            assert config.repeat == (None if quick else RepeatSpec(study_seeds=[0, 1, 2]))


def test_unknown_packaged_config_is_a_clear_error():
    with pytest.raises(FileNotFoundError, match="sslmem-huge.yaml"):
        demo.packaged_config("sslmem-huge")


def test_demo_runs_every_study_into_one_directory_and_builds_the_report(demo_run):
    out, result, asked, _ = demo_run
    assert result.exit_code == 0, result.output
    quick = [study.name for study, _ in demo.demo_studies(quick=True)]
    assert asked == [name for _, name in demo.demo_studies(quick=True)]
    assert "sslmem-removal" in quick  # the removal bars of paper 002's fig. 3
    for study in quick:
        assert (out / study / "COMPLETE").is_file(), study
    meta = json.loads((out / "meta.json").read_text())
    assert meta["finished"] >= meta["started"]
    assert "environment" in meta
    report = out / "report.html"
    html = report.read_text()
    for study in quick:
        assert f'id="study-{study}"' in html
    # the command ends with one line per claim of every study and the report's path last
    assert result.output.rstrip().endswith(f"report: {report}")
    printed = result.output.splitlines()
    lines = demo.claim_lines(out)
    for study in quick:
        claims = studies.get(study).claims
        assert len(lines[study]) == len(claims), study
        for claim, line in zip(claims, lines[study], strict=True):
            assert f"  {line}" in printed  # one line each, not broken at the console's width
            assert claim.name in line and claim.text not in result.output
            assert line.startswith(("smoke test", "not measured"))  # a --quick demo
    # in the order the studies ran, as in the report
    assert list(lines) == quick
    positions = [printed.index(study) for study in quick]
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


# --- scripts/demo_results.py: README's results section from a stored run directory -----------


def test_demo_results_section_matches_the_run_directory(demo_run):
    import pandas as pd

    out, _, _, _ = demo_run
    results = _demo_results()
    body = results.section(out)
    meta = json.loads((out / "meta.json").read_text())
    environment = meta["environment"]
    assert f"commit {environment['git']['commit'][:7]}" in body
    assert f"CPU {environment['cpu']['model']}" in body
    assert meta["started"][:10] in body and "--quick" in body and SMOKE_TEST in body
    rows = [line.split(" | ") for line in body.splitlines() if line.startswith("| ")]
    # every study's measured claims, with the numbers of its summary.json
    sslmem = json.loads((out / "sslmem" / "summary.json").read_text())
    test = sslmem["ttest_candidates_vs_shared"][sslmem["center"]]
    row = next(r for r in rows if r[0] == "| sslmem" and "table 2" in r[1])
    assert f"t = {test['statistic']:.2f}, p = {test['p_value']:.2g}" in row[2]
    benign = json.loads((out / "benign" / "summary.json").read_text())
    knn = benign["clean_knn_final"]["random"]
    row = next(r for r in rows if r[0] == "| benign" and "last layers" in r[1])
    assert f"{knn['embedding']:.1%}" in row[2] and f"{knn['output']:.1%}" in row[2]
    # the profiles alignment rows are the table's at p = 0.5
    table = pd.read_csv(out / "profiles" / "tables" / "profile_alignment.csv")
    table = table[table.target_p == 0.5]
    shown = [r for r in rows if len(r) == len(results.ALIGNMENT_COLUMNS)
             and r[0].lstrip("| ") in set(table.paradigm)]  # fmt: skip
    assert len(shown) == len(table)
    for cells, (_, expected) in zip(shown, table.iterrows(), strict=True):
        assert cells[0].lstrip("| ") == expected.paradigm and cells[2] == expected["null"]
        assert float(cells[3]) == pytest.approx(expected.mae, abs=1e-4)
    seconds = (pd.Timestamp(meta["finished"]) - pd.Timestamp(meta["started"])).total_seconds()
    assert f"whole run {int(seconds // 60)} min {int(seconds % 60)} s" in body


def test_readme_results_section_lies_between_the_markers_and_is_rewritten_in_place(
    demo_run, tmp_path
):
    from pathlib import Path

    results = _demo_results()
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert readme.count(results.BEGIN) == 1 and readme.count(results.END) == 1
    head, rest = readme.split(results.BEGIN)
    inside, tail = rest.split(results.END)
    assert "scripts/demo_results.py" in inside and "| study |" in inside  # generated, not empty
    copy = tmp_path / "README.md"
    copy.write_text(readme)
    out, _, _, _ = demo_run
    assert results.main([str(out), "--readme", str(copy)]) == 0
    written = copy.read_text()
    assert written.startswith(head + results.BEGIN) and written.endswith(results.END + tail)
    assert results.section(out) in written
    assert results.main([str(out), "--readme", str(copy)]) == 0 and copy.read_text() == written
    copy.write_text("no markers here")
    assert results.main([str(out), "--readme", str(copy)]) == 2
    assert copy.read_text() == "no markers here"  # refused, the file untouched


# --- scripts/demo_results.py --config: the measured block of a config's header ---------------

HEADER = "# A config's own prose, kept as it is.\n# Cost and results: the measured block below.\n"


def _config_file(path, study_config: dict, header: str = HEADER):
    """A config file: ``header``, then ``study_config`` as YAML (with a comment inside the body
    that must survive untouched)."""
    import yaml

    body = yaml.safe_dump(study_config, sort_keys=False)
    path.write_text(header + body.replace("\n", "  # the body's own comment\n", 1))
    return path


def test_measured_block_carries_the_run_directorys_numbers(demo_run, tmp_path):
    out, _, _, _ = demo_run
    results = _demo_results()
    config = _config_file(tmp_path / "sslmem-tiny.yaml", tiny_configs()["sslmem"])
    original = config.read_text()
    assert results.main([str(out), "--config", str(config)]) == 0
    text = config.read_text()
    head, rest = text.split(results.MEASURED_BEGIN + "\n")
    block, tail = rest.split(results.MEASURED_END + "\n")
    # inserted just before the first line that is not a comment; everything else as it was
    assert head == HEADER and head + tail == original
    assert all(len(line) <= 100 and line.startswith("# ") for line in block.splitlines())
    flat = " ".join(line.removeprefix("# ").strip() for line in block.splitlines())
    meta = json.loads((out / "sslmem" / "meta.json").read_text())
    environment = meta["environment"]
    assert f"commit {environment['git']['commit'][:7]}" in flat
    assert f"CPU {environment['cpu']['model']}" in flat
    assert f"{environment['torch_threads']} torch threads" in flat
    assert meta["started"][:10] in flat and "`mnemoscope demo --quick`" in flat
    seconds = (datetime.fromisoformat(meta["finished"])
               - datetime.fromisoformat(meta["started"])).total_seconds()  # fmt: skip
    assert f"finished): {int(seconds // 60)} min {int(seconds % 60)} s." in flat
    summary = json.loads((out / "sslmem" / "summary.json").read_text())
    claims = studies.get("sslmem").findings(summary)
    assert claims and any(isinstance(c.measured, Measured) for c in claims)
    for finding in claims:  # one entry per claim; a quick demo's values are shown, not judged
        entry = f"- {finding.claim.text} ({finding.claim.paper}, {finding.claim.section}): "
        assert flat.count(entry) == 1
        after = flat.split(entry)[1]
        expected = (f"{SMOKE_TEST}: {finding.measured.value}"
                    if isinstance(finding.measured, Measured)
                    else f"not measured ({finding.measured.reason})")  # fmt: skip
        assert after.startswith(expected)


def test_measured_block_gives_each_claims_verdict_when_judged(demo_run, tmp_path):
    """Not a smoke test (a study run by `mnemoscope run` from a non-packaged config): verdicts."""
    import shutil

    out, _, _, _ = demo_run
    study = tmp_path / "benign-run"
    shutil.copytree(out / "benign", study)
    results = _demo_results()
    config = _config_file(tmp_path / "benign-tiny.yaml", tiny_configs()["benign"])
    assert results.main([str(study), "--config", str(config)]) == 0
    flat = " ".join(line.removeprefix("# ").strip() for line in config.read_text().splitlines())
    assert "`benign-run`, a stored run of `mnemoscope run`" in flat
    summary = json.loads((study / "summary.json").read_text())
    measured = [c for c in studies.get("benign").findings(summary)
                if isinstance(c.measured, Measured)]  # fmt: skip
    assert measured
    for finding in measured:
        entry = f"- {finding.claim.text} ({finding.claim.paper}, {finding.claim.section}): "
        verdict_and_value = f"{finding.measured.verdict}: {finding.measured.value}"
        assert flat.split(entry)[1].startswith(verdict_and_value)


def test_measured_block_is_rewritten_in_place_and_the_yaml_is_unchanged(demo_run, tmp_path):
    from mnemoscope.config_file import read_config

    out, _, _, _ = demo_run
    results = _demo_results()
    # markers in the middle of the header, an old block between them: only the block changes
    header = (HEADER + results.MEASURED_BEGIN + "\n# (not yet measured)\n"
              + results.MEASURED_END + "\n# Deviations: kept.\n")  # fmt: skip
    config = _config_file(tmp_path / "profiles-tiny.yaml", tiny_configs()["profiles"], header)
    original = config.read_text()
    assert results.main([str(out), "--config", str(config)]) == 0
    written = config.read_text()
    head, rest = written.split(results.MEASURED_BEGIN)
    _, tail = rest.split(results.MEASURED_END)
    assert head == HEADER and tail == original.split(results.MEASURED_END)[1]
    assert "(not yet measured)" not in written and "profiles" in rest
    copy = tmp_path / "original.yaml"
    copy.write_text(original)
    assert read_config(config) == read_config(copy) == tiny_configs()["profiles"]
    # a second write changes nothing
    assert results.main([str(out), "--config", str(config)]) == 0
    assert config.read_text() == written


def test_measured_block_refuses_another_config_and_leaves_the_file_untouched(
    demo_run, tmp_path, capsys
):
    out, _, _, _ = demo_run
    results = _demo_results()
    changed = {**tiny_configs()["sslmem"], "seeds": [5, 6]}
    config = _config_file(tmp_path / "sslmem-other.yaml", changed)
    before = config.read_bytes()
    assert results.main([str(out), "--config", str(config)]) == 2
    error = capsys.readouterr().err
    assert str(out / "sslmem" / "config.yaml") in error and str(config) in error
    assert "seeds" in error
    assert config.read_bytes() == before
    # two begin markers: refused, untouched
    twice = HEADER + (results.MEASURED_BEGIN + "\n" + results.MEASURED_END + "\n") * 2
    config = _config_file(tmp_path / "sslmem-twice.yaml", tiny_configs()["sslmem"], twice)
    before = config.read_bytes()
    assert results.main([str(out), "--config", str(config)]) == 2
    assert "once" in capsys.readouterr().err and config.read_bytes() == before
    # a study the run directory does not hold: refused, naming both
    from importlib import resources

    from mnemoscope.config_file import read_config

    packaged = read_config(resources.files("mnemoscope.configs") / "sslmem-dejavu-quick.yaml")
    dejavu = _config_file(tmp_path / "dejavu.yaml", packaged)
    assert results.main([str(out), "--config", str(dejavu)]) == 2
    error = capsys.readouterr().err
    assert "'sslmem-dejavu' study" in error and str(out) in error and str(dejavu) in error



def test_measured_block_ignores_how_often_the_run_checkpointed(demo_run, tmp_path):
    out, _, _, _ = demo_run
    results = _demo_results()
    sslmem = tiny_configs()["sslmem"]
    other = {**sslmem, "train": {**sslmem["train"], "checkpoint_every": 7}}  # not in run keys
    config = _config_file(tmp_path / "sslmem-checkpoints.yaml", other)
    assert results.main([str(out), "--config", str(config)]) == 0
    assert results.MEASURED_BEGIN in config.read_text()


def test_measured_block_gives_each_claims_minimum_detectable_effect_and_power_verdict(tmp_path):
    """A stored removal run (written by hand: no training) whose pooled pairs spread too much
    for the paper's gap: the block says underpowered, with the MDE beside the paper's effect."""
    from mnemoscope.store import RunDir
    from tests.conftest import removal_summary
    from tests.studies.conftest import TINY_REMOVAL

    results = _demo_results()
    run = RunDir(tmp_path / "removal-run")
    run.write_config(studies.load_config(TINY_REMOVAL).model_dump(mode="json"))
    run.update_meta(started="2026-01-01T00:00:00+00:00", finished="2026-01-01T00:02:05+00:00",
                    environment={"device": "cpu", "torch_threads": 2})  # fmt: skip
    summary = removal_summary("removal", -0.004, 0.6, mde=0.05)
    summary["coreset"] = removal_summary("coreset", 0.001, 0.9, mde=0.002)["coreset"]
    (run.path / "summary.json").write_text(json.dumps(summary))
    run.mark_complete()
    config = _config_file(tmp_path / "removal-tiny.yaml", TINY_REMOVAL)
    assert results.main([str(run.path), "--config", str(config)]) == 0
    flat = " ".join(line.removeprefix("# ").strip() for line in config.read_text().splitlines())
    removal, coreset = (studies.get("sslmem-removal").claims[i] for i in (0, 1))
    after = flat.split(f"- {removal.text} (002, {removal.section}): ")[1]
    assert after.startswith("underpowered: top-k 69.6% vs random-k 70.0%")
    assert (f"{removal.effect}: minimum detectable effect 0.05 (80% power, one-sided alpha "
            "0.05); paper's effect 0.0168") in after  # fmt: skip
    after = flat.split(f"- {coreset.text} (002, {coreset.section}): ")[1]
    assert after.startswith("undecided: ")  # 0.002 <= 0.0057: could have seen table 17's gain
    assert "minimum detectable effect 0.002" in after and "paper's effect 0.0057" in after


def test_every_demo_directory_is_bound_and_a_foreign_file_is_refused(demo_run, tmp_path,
                                                                      capsys):  # fmt: skip
    """Each finished study of the demo lists its outputs in MANIFEST.json; a figure dropped
    into one afterwards is named and refused by demo_results.py, and the report leaves it out."""
    import shutil

    from mnemoscope.reports.collect import collect
    from mnemoscope.store import RunDir

    out, _, _, _ = demo_run
    for study in collect(out):
        assert RunDir(study.path).verify() == [], study.name
        assert RunDir(study.path).read_manifest()["kind"] == "study"
    copy = tmp_path / "run"
    shutil.copytree(out, copy)
    stale = copy / "sslmem" / "figures" / "stale.png"
    shutil.copy(next((copy / "sslmem" / "figures").glob("*.png")), stale)
    config = _config_file(tmp_path / "sslmem.yaml", tiny_configs()["sslmem"])
    before = config.read_bytes()
    assert _demo_results().main([str(copy), "--config", str(config)]) == 2
    assert str(stale) in capsys.readouterr().err and config.read_bytes() == before
    (sslmem,) = [study for study in collect(copy) if study.name == "sslmem"]
    assert stale not in sslmem.figures
    assert any(str(stale) in line for line in sslmem.missing)
