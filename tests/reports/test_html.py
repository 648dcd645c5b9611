import pytest

from mnemoscope.reports import build_report, collect, render_report
from mnemoscope.store import RunDir
from tests.reports.conftest import HOSTILE


def test_report_embeds_figures_and_escapes_data(study_dir):
    text = render_report(study_dir)
    assert text.count('<img src="data:image/png;base64,') == 2
    assert HOSTILE not in text and "&lt;script&gt;" in text
    assert "<script" not in text  # the report itself runs no code
    assert "http://" not in text.replace("http://www.w3.org", "")  # nothing fetched from a network
    assert "100 s" in text  # run time from meta started/finished


def test_report_of_a_demo_directory_lists_every_study(study_dir, tmp_path):
    other = RunDir(study_dir.parent / "sslmem")
    other.write_config({"study": "sslmem"})
    studies = collect(study_dir.parent)
    assert [study.name for study in studies] == ["profiles", "sslmem"]
    path = build_report(study_dir.parent)
    assert path == study_dir.parent / "report.html" and path.read_text().count("<section") >= 4


def test_partial_run_reports_what_is_missing(tmp_path):
    run = RunDir(tmp_path / "partial")
    run.write_config({"study": "benign"})
    text = render_report(run.path)
    assert "has not finished" in text and "summary.json" in text and "figures/*.png" in text


def test_directory_without_studies_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="holds no study"):
        collect(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        collect(tmp_path / "nope")
