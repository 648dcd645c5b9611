"""The Déjà Vu study's section of the report: table 4 inline, per-image flags linked, the figure
with its caption, the finding's verdict, and every string escaped."""

import json
import re

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from mnemoscope import studies
from mnemoscope.reports import render_report
from mnemoscope.store import RunDir
from tests.conftest import dejavu_summary
from tests.reports.conftest import HOSTILE, RAW_MARKER


def _row(method, gap, p_value, seeds=3):
    return {"method": method, "sslmem": 0.1, "sslmem_seed_std": 0.01, "dejavu": gap,
            "dejavu_seed_std": 0.01 if seeds > 1 else None, "dejavu_p": p_value, "seeds": seeds,
            "probe_accuracy": 0.7}  # fmt: skip


@pytest.fixture
def dejavu_dir(tmp_path):
    run = RunDir(tmp_path / "sslmem-dejavu")
    run.write_config({"study": "sslmem-dejavu", "seeds": [0, 1, 2]})
    table = pd.DataFrame([_row(HOSTILE, 0.05, 0.01), _row("vicreg", 0.04, 0.02)])
    run.save_table("sslmem_dejavu", table)
    run.save_table("sslmem_dejavu_images", pd.DataFrame({"id": [1], "confidence_a": [RAW_MARKER]}))
    figure, axis = plt.subplots(figsize=(3, 2))
    run.save_figure("sslmem_dejavu_table4", figure)
    plt.close(figure)
    summary = dejavu_summary(table.to_dict(orient="records"))
    summary["headlines"] = [f"table 4 [{HOSTILE}] Déjà Vu +5.0%"]
    (run.path / "summary.json").write_text(json.dumps(summary))
    run.mark_complete()
    return run.path


def test_the_dejavu_section_shows_table4_links_flags_and_escapes(dejavu_dir):
    text = render_report(dejavu_dir)
    assert HOSTILE not in text and "&lt;script&gt;" in text and "<script" not in text
    assert 'id="study-sslmem-dejavu"' in text
    assert "<th>dejavu</th>" in text  # table 4 inline
    assert 'href="tables/sslmem_dejavu_images.csv"' in text and "0.9877" not in text
    assert "Reproduces paper 002, table 4." in text
    rows = re.findall(r'<tr class="finding">(.*?)</tr>', text, flags=re.S)
    assert len(rows) == 1 and "sec. 4.5, table 4" in rows[0] and ">reproduced<" in rows[0]


@pytest.mark.parametrize(
    ("gaps", "verdict"),
    [
        ([(0.05, 0.01, 3), (0.04, 0.02, 3)], "reproduced"),
        ([(0.05, 0.01, 3), (0.01, 0.3, 3)], "undecided"),  # could have seen table 4's 20%
        ([(-0.05, 0.99, 3), (-0.04, 0.98, 3)], "opposite"),
        ([(0.05, float("nan"), 1)], "underpowered"),  # one seed: no test
    ],
)
def test_the_dejavu_verdict_needs_every_method_significant(gaps, verdict):
    rows = [_row(f"m{i}", gap, p, seeds) for i, (gap, p, seeds) in enumerate(gaps)]
    (finding,) = studies.get("sslmem-dejavu").findings(dejavu_summary(rows))
    assert finding.measured.verdict == verdict


def test_the_findings_table_gives_the_minimum_detectable_effect_beside_the_value(dejavu_dir):
    rows = re.findall(r'<tr class="finding">(.*?)</tr>', render_report(dejavu_dir), flags=re.S)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", rows[0], flags=re.S)
    value, power = cells[2], cells[3]
    assert value.startswith("Déjà Vu gap") and "minimum detectable effect" in power
    assert "paper&#39;s effect 0.201" in power and "least Déjà Vu gap over methods" in power
    # one seed: no test, no power to see table 4's gap
    summary = json.loads((dejavu_dir / "summary.json").read_text())
    for row in summary["table4"]:
        row.update(seeds=1, dejavu_seed_std=None, dejavu_p=None)
    (dejavu_dir / "summary.json").write_text(json.dumps(summary))
    (row,) = re.findall(r'<tr class="finding">(.*?)</tr>', render_report(dejavu_dir), flags=re.S)
    assert 'verdict-underpowered">underpowered<' in row and "effect inf" in row
    assert "<em>underpowered</em>" in render_report(dejavu_dir)  # the verdicts' legend
