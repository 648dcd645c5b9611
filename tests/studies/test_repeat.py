import json

import pandas as pd
import pytest

from mnemoscope import data, studies
from mnemoscope.analysis.claims import Measured
from mnemoscope.analysis.power import mde_mean
from mnemoscope.config_file import packaged_config
from mnemoscope.reports.html import render_report
from mnemoscope.studies.profiles import STUDY as PROFILES
from mnemoscope.studies.repeat import SEED_STRIDE, RepeatSpec, seed_config, seed_dir, shift_seeds
from tests.conftest import demo_results
from tests.studies.conftest import tiny_profiles as tiny_config


def test_shift_seeds_shifts_every_seed_and_nothing_else():
    raw = {
        "study": "x", "repeat": {"study_seeds": [0, 1]}, "seed": 3, "seeds": [0, 1],
        "data": {"split_seed": 2, "train_size": 10, "seeds_note": 7},
        "verdict": {"networks": 3}, "toy": {"repetitions": 2, "seed": 0},
        "paradigms": [{"train": {"objective": {"label_seed": 5}}, "flag_seed": True}],
        "feldman": {"seeds": None},
    }  # fmt: skip
    shifted = shift_seeds(raw, 2)
    s = 2 * SEED_STRIDE
    assert shifted == {
        "study": "x", "seed": 3 + s, "seeds": [s, 1 + s],
        "data": {"split_seed": 2 + s, "train_size": 10, "seeds_note": 7},
        "verdict": {"networks": 3}, "toy": {"repetitions": 2, "seed": s},
        "paradigms": [{"train": {"objective": {"label_seed": 5 + s}}, "flag_seed": True}],
        "feldman": {"seeds": None},
    }  # fmt: skip
    assert shift_seeds(raw, 0) == {k: v for k, v in raw.items() if k != "repeat"}
    assert raw["seed"] == 3  # the input is not modified


@pytest.mark.parametrize("study", ["profiles", "sslmem", "benign"])
def test_every_training_and_draw_moves_with_the_study_seed(study):
    raw = {**packaged_config(f"{study}-quick"), "repeat": {"study_seeds": [0, 1]}}
    config = studies.load_config(raw)
    plain = studies.load_config(packaged_config(f"{study}-quick"))
    first, second = seed_config(config, 0), seed_config(config, 1)
    assert first.repeat is None and first == plain  # study seed 0 is the study as configured
    study_specs = studies.get(study).specs
    bundle = data.load(config.data.name, **config.data.options)
    specs = {k: study_specs(c, bundle) for k, c in [(0, first), (1, second)]}
    assert [s.key() for s in specs[0]] == [s.key() for s in study_specs(plain, bundle)]
    assert not {s.key() for s in specs[0]} & {s.key() for s in specs[1]}
    assert not {s.config.seed for s in specs[0]} & {s.config.seed for s in specs[1]}
    subsets = [{tuple(s.config.data.subset or ()) for s in specs[k]} for k in (0, 1)]
    assert not subsets[0] & subsets[1]  # every training set is drawn anew
    draws = {
        "profiles": lambda c: (c.data.split_seed, c.tracking.seed, c.tracking.bank_seed,
                               c.binomial_seed, c.null_seed, c.figures.seed, *c.seeds),
        "sslmem": lambda c: (c.splits.seed, c.planted.seed, c.measure.seed, *c.seeds),
        "benign": lambda c: (c.data.split_seed, c.train.seed, c.train.objective.label_seed,
                             c.invariance.seed, c.toy.seed),
    }[study]  # fmt: skip
    assert all(b == a + SEED_STRIDE for a, b in zip(draws(first), draws(second), strict=True))


@pytest.mark.parametrize("study", ["sslmem-removal", "sslmem-privacy", "sslmem-dejavu"])
def test_the_downstream_studies_repeat_with_their_nested_seeds_shifted(study):
    raw = packaged_config(f"{study}-quick")
    config = studies.load_config({**raw, "repeat": {"study_seeds": [0, 2]}})
    first, second = seed_config(config, 0), seed_config(config, 2)
    assert first == studies.load_config(raw) and second.repeat is None
    nested = "sslmem" if study != "sslmem-dejavu" else None
    if nested:
        inner = [getattr(c, nested) for c in (first, second)]
        assert inner[1].seeds == [s + 2 * SEED_STRIDE for s in inner[0].seeds]
        assert inner[1].splits.seed == inner[0].splits.seed + 2 * SEED_STRIDE
        with pytest.raises(ValueError, match="sslmem.repeat"):
            studies.load_config(
                {**raw, nested: {**raw[nested], "repeat": {"study_seeds": [0, 1]}}})
    else:
        assert second.seeds == [s + 2 * SEED_STRIDE for s in first.seeds]


def test_repeat_spec_refuses_repeated_or_negative_seeds():
    for bad in ([], [0, 0], [-1]):
        with pytest.raises(ValueError, match="study_seeds"):
            RepeatSpec(study_seeds=bad)


# --- a repeated study end to end ----------------------------------------------------------------


@pytest.fixture(scope="module")
def repeated(tmp_path_factory):
    out = tmp_path_factory.mktemp("repeated")
    config = tiny_config(
        seeds=[0, 1], repeat={"study_seeds": [0, 3]},
        paradigms=[{"name": "supervised", "train": {"objective": {"name": "supervised"}}},
                   {"name": "simclr", "train": {"objective": {"name": "simclr",
                                                              "temperature": 0.2}}}],
    )  # fmt: skip
    return config, studies.run(config, out, quiet=True)


def test_repeated_study_runs_each_seed_in_its_own_directory(repeated):
    config, result = repeated
    for k in (0, 3):
        child = seed_dir(result.path, k)
        assert (child / "COMPLETE").exists() and (child / "summary.json").exists()
        assert studies.load_config(json.loads(json.dumps(_yaml(child / "config.yaml")))) == (
            seed_config(config, k))  # fmt: skip
    assert (result.path / "COMPLETE").exists()
    assert _yaml(result.path / "config.yaml")["repeat"]["study_seeds"] == [0, 3]
    summary = json.loads((result.path / "summary.json").read_text())
    assert summary["repeat"]["dirs"] == ["study-seed-0", "study-seed-3"]
    for k in ("0", "3"):
        assert summary["seeds"][k] == json.loads(
            (seed_dir(result.path, int(k)) / "summary.json").read_text())  # fmt: skip
    # one per claim of paper 001 measured: the third needs random labels, not trained here
    assert len(summary["headlines"]) == 2
    assert summary["headlines"][0].startswith(PROFILES.claims[0].text)


def test_repeated_study_table_and_report_show_each_seed_and_the_spread(repeated):
    _, result = repeated
    table = pd.read_csv(result.path / "tables" / "repeat_findings.csv")
    summary = json.loads((result.path / "summary.json").read_text())
    claim = PROFILES.claims[0]  # supervised vs SimCLR: measured at every seed
    rows = table[table.claim == claim.text].set_index("study_seed")
    assert list(rows.index) == ["0", "3", "combined"]
    per_seed = [claim.measure(PROFILES.read_summary(summary["seeds"][k])) for k in ("0", "3")]
    assert rows.loc["0", "effect"] == pytest.approx(per_seed[0].effect)
    assert rows.loc["combined", "effect"] == pytest.approx(
        (per_seed[0].effect + per_seed[1].effect) / 2)  # fmt: skip
    # the t-test of the seeds' effects and its minimum detectable effect (no paper effect here)
    spread = abs(per_seed[0].effect - per_seed[1].effect) / 2**0.5
    assert rows.loc["combined", "mde"] == pytest.approx(mde_mean(spread, 2))
    assert pd.isna(rows.loc["combined", "paper_effect"])
    verdicts = {m.verdict for m in per_seed}
    assert rows.loc["combined", "verdict"] == (verdicts.pop() if len(verdicts) == 1
                                               else "undecided")  # fmt: skip
    page = render_report(result.path)
    assert "t interval over seeds" in page and "2 study seeds" in page


def test_repeated_study_draws_its_figures_over_the_seeds_and_the_report_leads_with_them(
    repeated
):
    _, result = repeated
    assert PROFILES.repeated_key_figure == "seeds_fig2_mae"
    assert (result.path / "figures" / "seeds_fig2_mae.png").stat().st_size > 1000
    page = render_report(result.path)
    section = page[page.index('<section id="study-'):]
    assert section.index('<figure id="study-' + result.path.name + '-seeds_fig2_mae" class="key">'
                         ) < section.index('class="study-summary"')  # fmt: skip
    for k in (0, 3):  # each seed's own figures, one click away
        assert f'<details class="seed" id="study-{result.path.name}-seed-{k}">' in section
        assert f'id="study-{result.path.name}-seed-{k}-fig1_profiles"' in section


def test_readme_results_show_every_study_seed_of_a_repeated_study(repeated):
    _, result = repeated
    body = demo_results().section(result.path)
    table = pd.read_csv(result.path / "tables" / "repeat_findings.csv", dtype={"study_seed": str})
    rows = [line.split(" | ") for line in body.splitlines() if line.startswith("| ")]
    header = next(r for r in rows if r[0] == "| claim")
    assert header[2:] == ["seed 0", "seed 3 |"]
    claim = PROFILES.claims[0]
    row = next(r for r in rows if r[0] == f"| {claim.text}")
    for k, cell in zip(("0", "3"), row[2:], strict=True):
        seed = table[(table.claim == claim.text) & (table.study_seed == k)].iloc[0]
        assert cell.rstrip(" |").endswith(f": {seed.verdict}")
        assert cell.startswith(f"{seed.effect:+.3g}")
    # the alignment at p = 0.5: each seed's MAE side by side
    align = next(r for r in rows if r[0] == "| paradigm")
    assert align[3:5] == ["mae seed 0", "mae seed 3"]
    seed3 = pd.read_csv(seed_dir(result.path, 3) / "tables" / "profile_alignment.csv")
    seed3 = seed3[seed3.target_p == 0.5].iloc[0]
    shown = next(r for r in rows if r[0] == f"| {seed3.paradigm}" and r[1] == seed3.variant
                 and r[2] == seed3["null"])  # fmt: skip
    assert float(shown[4]) == pytest.approx(seed3.mae, abs=1e-4)


def _yaml(path):
    import yaml

    return yaml.safe_load(path.read_text())


def test_plan_lists_the_runs_of_every_study_seed(tmp_path):
    import yaml
    from typer.testing import CliRunner

    from mnemoscope.cli import app

    raw = packaged_config("sslmem-quick")
    plain, repeated = tmp_path / "plain.yaml", tmp_path / "repeated.yaml"
    plain.write_text(yaml.safe_dump(raw))
    repeated.write_text(yaml.safe_dump({**raw, "repeat": {"study_seeds": [0, 1, 2]}}))
    out = tmp_path / "out"
    runs = []
    for config in (plain, repeated):
        result = CliRunner().invoke(app, ["plan", str(config), "--out", str(out)])
        assert result.exit_code == 0, result.output
        runs.append(int(result.output.split(" runs, ")[0].split()[-1]))
    assert runs[1] == 3 * runs[0]


def test_config_measured_block_gives_each_study_seeds_time_and_the_combined_verdicts(
    repeated, tmp_path
):
    import yaml

    config, result = repeated
    results = demo_results()
    path = tmp_path / "profiles-repeated.yaml"
    path.write_text("# header\n" + yaml.safe_dump(config.model_dump(mode="json")))
    assert results.main([str(result.path), "--config", str(path)]) == 0
    flat = " ".join(line.removeprefix("# ").strip() for line in path.read_text().splitlines()
                    if line.startswith("#"))  # fmt: skip
    for k in (0, 3):
        meta = json.loads((seed_dir(result.path, k) / "meta.json").read_text())
        seconds = (pd.Timestamp(meta["finished"]) - pd.Timestamp(meta["started"])).total_seconds()
        assert f"study seed {k} {int(seconds // 60)} min {int(seconds % 60)} s" in flat
    summary = json.loads((result.path / "summary.json").read_text())
    findings = PROFILES.findings(summary)
    assert any(isinstance(finding.measured, Measured) for finding in findings)
    for finding in findings:
        if isinstance(finding.measured, Measured):  # combined over seeds, as the table's row
            entry = f"- {finding.claim.text} ({finding.claim.paper}, {finding.claim.section}): "
            assert flat.split(entry)[1].startswith(
                f"{finding.measured.verdict}: {finding.measured.value}")  # fmt: skip
            assert "study seeds" in finding.measured.value


def test_readme_claims_of_a_config_come_from_its_stored_run_between_its_markers(
    repeated, tmp_path
):
    import yaml

    config, result = repeated
    results = demo_results()
    path = tmp_path / "profiles-repeated.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    begin, end = results.claims_markers(path)
    readme = tmp_path / "README.md"
    readme.write_text(f"# intro\n\n{begin}\nstale line\n{end}\n\n## after\n")
    assert results.main([str(result.path), "--config", str(path), "--claims", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith("# intro\n\n") and text.endswith(f"{end}\n\n## after\n")
    assert "stale line" not in text
    lines = text.split(begin)[1].split(end)[0].strip().splitlines()
    summary = json.loads((result.path / "summary.json").read_text())
    measured = [f for f in PROFILES.findings(summary) if isinstance(f.measured, Measured)]
    assert len(lines) == len(measured) + 1  # one line per measured claim, then the provenance
    for line, finding in zip(lines, measured, strict=False):
        assert line.startswith(f"- {finding.claim.text} ({finding.claim.paper}, ")
        assert f": **{finding.measured.verdict}**; {finding.claim.effect}: " in line
        assert finding.measured.value in line
    assert lines[-1].strip().startswith(f"(`configs/{path.name}`: a stored run started ")
    # a README without the config's markers, or a config the run is not of: refused, untouched
    bare = tmp_path / "BARE.md"
    bare.write_text("# nothing to replace\n")
    config_text = path.read_text()
    assert results.main([str(result.path), "--config", str(path), "--claims", str(bare)]) == 2
    assert bare.read_text() == "# nothing to replace\n" and path.read_text() == config_text
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({**config.model_dump(mode="json"), "seeds": [5, 6]}))
    other_begin, other_end = results.claims_markers(other)
    readme.write_text(f"{text}{other_begin}\n{other_end}\n")
    before = readme.read_text()
    assert results.main([str(result.path), "--config", str(other), "--claims", str(readme)]) == 2
    assert readme.read_text() == before
