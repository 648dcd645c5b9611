import re

import pytest

from mnemoscope.analysis.claims import VERDICTS
from mnemoscope.reports import build_report, collect, render_report
from mnemoscope.store import RunDir
from tests.reports.conftest import HOSTILE, RAW_MARKER


def finding_rows(text: str) -> list[str]:
    return re.findall(r'<tr class="finding">(.*?)</tr>', text, flags=re.S)


def test_report_embeds_figures_and_escapes_data(study_dir):
    text = render_report(study_dir)
    figures = r'<figure id="[^"]+"(?: class="key")?><img src="data:image/png;base64,'
    assert len(re.findall(figures, text)) == 2
    assert HOSTILE not in text and "&lt;script&gt;" in text
    assert "<script" not in text  # the report itself runs no code
    assert "http://" not in text.replace("http://www.w3.org", "")  # nothing fetched from a network
    assert "100 s" in text  # run time from meta started/finished


def test_findings_table_has_a_row_and_a_verdict_per_claim(study_dir):
    text = render_report(study_dir)
    rows = finding_rows(text)
    assert len(rows) == 3  # paper 001's three claims, all measurable from this summary
    for row in rows:
        verdicts = re.findall(r'class="text verdict verdict-[a-z-]+">([^<]+)</td>', row)
        assert len(verdicts) == 1 and verdicts[0] in VERDICTS, row
    # supervised 0.2 vs SimCLR 0.1 (sd 0.01): the first claim is reproduced
    assert "sec. 4.1, fig. 2 (left)" in rows[0] and ">reproduced<" in rows[0]
    assert text.index('id="findings"') < text.index('id="study-profiles"')
    assert 'id="smoke-test"' not in text
    assert "Scale:" in text and "|X| = 128" in text


def test_quick_run_has_a_banner_and_no_verdicts(study_dir):
    RunDir(study_dir.parent).write_config({"demo": "quick", "studies": ["profiles"]})
    text = render_report(study_dir.parent)
    assert 'id="smoke-test"' in text and "not findings" in text
    rows = finding_rows(text)
    assert rows and all("not assessed (smoke test)" in row for row in rows)
    assert not any(f">{verdict}<" in text for verdict in VERDICTS)


def test_captions_say_what_a_figure_shows_and_which_paper_figure(study_dir):
    text = render_report(study_dir)
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", text, flags=re.S)
    assert len(captions) == 2
    assert all(".png" not in caption and "Reproduces paper 001, fig." in caption
               for caption in captions)  # fmt: skip
    # the section leads with the key figure, then its paragraph; the other figures are folded
    section = text[text.index('<section id="study-profiles">'):]
    assert section.index('id="study-profiles-fig2_binomial" class="key"') < section.index(
        'class="study-summary"') < section.index("<details") < section.index(
        'id="study-profiles-fig1_profiles"')  # fmt: skip
    assert text.count('id="study-profiles-fig2_binomial"') == 1


def test_raw_per_image_tables_are_linked_not_inlined(study_dir):
    text = render_report(study_dir)
    assert str(RAW_MARKER)[:6] not in text and "0.9877" not in text
    assert 'href="tables/recognition.csv"' in text
    assert "<th>class</th>" in text  # a small summary table stays in the page


def test_sslmem_gallery_marks_planted_images(sslmem_dir):
    text = render_report(sslmem_dir)
    gallery = text[text.index("Most memorized candidates"):]
    assert gallery.count('<figure class="marked">') == 2  # in the least-memorized row
    assert gallery.count('<span class="marked-tag">planted</span>') == 2
    assert "sslmem_fig1_most_memorized" not in text  # the gallery replaces the static figure
    assert "planted (noise)" in gallery
    assert text.index("Most memorized candidates") < text.index("Headline numbers")
    rows = finding_rows(text)
    verdicts = [re.search(r"verdict-[a-z-]+\">([^<]+)<", row).group(1) for row in rows]
    assert verdicts == ["reproduced", "opposite"]  # t-test p = 0.002; planted AUROC 0.1
    assert "Trainings that memorize more" in text.split('id="study-')[0]  # listed: not measured


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
    assert "No claim could be assessed yet" in text


def test_directory_without_studies_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="holds no study"):
        collect(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        collect(tmp_path / "nope")


def test_studies_come_in_the_order_they_ran(study_dir, sslmem_dir):
    RunDir(sslmem_dir).update_meta(started="2025-12-31T00:00:00+00:00")  # before profiles
    assert [study.name for study in collect(study_dir.parent)] == ["sslmem", "profiles"]


def test_sslmem_localization_section_shows_layermem_and_unitmem_escaped(sslmem_dir):
    import matplotlib.pyplot as plt
    import pandas as pd

    run = RunDir(sslmem_dir)
    run.save_table("sslmem_taps", pd.DataFrame({
        "tap": ["auto", "layer1"], "layer": ["layer4", "layer1"], "depth": [3, 0],
        "layermem": [0.3, 0.1], "delta_layermem": [0.2, float("nan")],
        "layermem_raw": [0.03, 0.01], "delta_layermem_raw": [0.02, float("nan")],
    }))  # fmt: skip
    run.save_table("sslmem_unitmem_top", pd.DataFrame({
        "seed": [0], "tap": [HOSTILE], "layer": ["layer2"], "unit": [7], "unitmem": [0.91],
        "top_id": [42], "top_subset": ["S_C"], "top_kind": ["noise"],
    }))  # fmt: skip
    figure, axis = plt.subplots(figsize=(2, 2))
    run.save_figure("sslmem_unitmem", figure)
    plt.close(figure)
    run.mark_complete()  # the study's outputs, as its run binds them (store: MANIFEST.json)
    text = render_report(sslmem_dir)
    section = text[text.index("Where memorization lives"):]
    assert HOSTILE not in text and "&lt;script&gt;" in section
    assert "LayerMem per tap (network order)" in section and "Most memorizing units" in section
    # in the network's order: layer1 (depth 0) before auto (layer4)
    assert section.index("<td class=\"text\">layer1</td>") < section.index(">auto<")
    assert section.index("Most memorizing units") < section.index("0.91")
    assert 'id="study-sslmem-sslmem_unitmem"' in section  # the figure sits in the section
    assert text.count('id="study-sslmem-sslmem_unitmem"') == 1  # and only there


def test_a_wide_summary_table_is_turned_to_fit_the_page(sslmem_dir):
    text = render_report(sslmem_dir)
    table = text[text.index("wide summary (turned: a row per column)"):]
    table = table[:table.index("</table>")]
    assert table.count("<tr>") == 16  # the header and a row per column but the first
    assert "<th>a_<wbr>long_<wbr>column_<wbr>name_<wbr>0</th><th>0.1235</th>" in table
    assert '<td class="text">a_long_column_name_15</td><td>0.1235</td><td>-1.5e-05</td>' in table
