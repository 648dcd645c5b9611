"""The report of studies repeated over study seeds: each section leads with its key figure (the
figure over the seeds where the study draws one, else every seed's own), every seed's figures
and gallery are one click away, the claims at every seed are one compact table, and no claim's
sentence is repeated down the page."""

import json
import re

from markupsafe import escape

from mnemoscope import studies
from mnemoscope.reports import render_report
from mnemoscope.reports.numbers import with_interval
from mnemoscope.studies.repeat import FINDINGS_TABLE
from tests.reports.conftest import HOSTILE, REPEATED_SEEDS


def section(text: str, anchor: str) -> str:
    start = text.index(f'<section id="{anchor}">')
    return text[start:text.index("</section>", start)]


def seed_block(text: str, anchor: str, k: int) -> str:
    start = text.index(f'<details class="seed" id="{anchor}-seed-{k}">')
    end = text.index('<details class="seed"', start + 1) if k != REPEATED_SEEDS[-1] else (
        text.index('<details class="detail"', start))  # fmt: skip
    return text[start:end]


def test_each_repeated_study_leads_with_its_key_figure(repeated_demo):
    text = render_report(repeated_demo)
    sslmem = section(text, "study-sslmem")
    # sslmem draws its figures over the seeds: the key one leads, before the paragraph
    key = studies.get("sslmem").repeated_key_figure
    assert sslmem.index(f'<figure id="study-sslmem-{key}" class="key">') < sslmem.index(
        'class="study-summary"') < sslmem.index("<details")  # fmt: skip
    assert "one marker per study seed" in sslmem  # its caption
    assert 'id="study-sslmem-seeds_sslmem_distributions"' in sslmem  # the other, folded
    # profiles' seeds have no table to draw one from: each seed's own key figure leads, once
    profiles = section(text, "study-profiles")
    lead = profiles[:profiles.index('class="study-summary"')]
    for k in REPEATED_SEEDS:
        assert f'<div id="study-profiles-seed-{k}-fig2_binomial"><img src="data:image/png' in lead
        assert profiles.count(f'id="study-profiles-seed-{k}-fig2_binomial"') == 1
    assert "Each study seed&#39;s own key figure: Memorization profiles" in lead


def test_every_seed_shows_its_figures_and_gallery(repeated_demo):
    text = render_report(repeated_demo)
    for k in REPEATED_SEEDS:
        block = seed_block(text, "study-sslmem", k)
        assert "Most memorized candidates" in block.split("</summary>")[0]  # said when folded
        assert block.count('<figure class="marked">') == 2  # the two planted images
        assert block.count('<span class="marked-tag">planted</span>') == 2
        assert f'<figure id="study-sslmem-seed-{k}-sslmem_fig2c_distributions">' in block
        assert "sslmem_fig1_most_memorized" not in block  # the gallery stands in for it
        block = seed_block(text, "study-profiles", k)
        assert f'<figure id="study-profiles-seed-{k}-fig1_profiles">' in block
        assert "key figure is shown above" in block
        assert f'href="profiles/study-seed-{k}/tables/recognition.csv"' in block  # linked
    # the findings of every seed are a file of the study, linked, never inlined
    assert f'href="sslmem/tables/{FINDINGS_TABLE}.csv"' in text
    assert HOSTILE not in text and "&lt;script&gt;" in text and "<script" not in text


def test_no_claim_sentence_appears_more_than_twice(repeated_demo):
    text = render_report(repeated_demo)
    for name in ("profiles", "sslmem"):
        for claim in studies.get(name).claims:
            assert 1 <= text.count(str(escape(claim.text))) <= 2, claim.name


def test_the_seed_table_has_one_row_per_measured_claim(repeated_demo):
    text = render_report(repeated_demo)
    sslmem = section(text, "study-sslmem")
    table = sslmem[sslmem.index('<table class="seeds">'):sslmem.index("</table>")]
    rows = re.findall(r'<tr class="seed-row">(.*?)</tr>', table, flags=re.S)
    claims = {claim.name: claim for claim in studies.get("sslmem").claims}
    # measured at both seeds: table 2's t-test and the planted AUROC; the other two are not
    assert [re.search(r'title="[^"]*">([^<]+)<', row).group(1) for row in rows] == [
        "candidates memorized", "atypical images memorized"]  # fmt: skip
    header = re.findall(r"<th[^>]*>([^<]+)</th>", table)
    assert header == ["claim", *(f"study seed {k}" for k in REPEATED_SEEDS), "combined"]
    for missing in ("memorization goes with accuracy", "SSLMem agrees with Feldman"):
        assert missing not in table  # no row of dashes
        assert sslmem.count(missing) == 1  # named once, in the paragraph's "Not measured"
        assert str(escape(claims[missing].text)) not in sslmem
    assert "Not measured: memorization goes with accuracy, SSLMem agrees with Feldman" in sslmem
    cells = re.findall(r"<td[^>]*>(.*?)</td>", table, flags=re.S)
    assert not [cell for cell in cells if cell.strip() in ("-", "")]
    # the planted AUROC: 0.1 and 0.3, effects -0.4 and -0.2 at one decimal (their interval)
    atypical = rows[1]
    assert ">-0.4<br>" in atypical and ">-0.2<br>" in atypical
    summary = json.loads((repeated_demo / "sslmem" / "summary.json").read_text())
    measured = studies.get("sslmem").findings(summary)[1].measured
    assert with_interval(measured.effect, measured.low, measured.high) in atypical
    assert "verdict-opposite" in atypical


def test_the_paragraph_is_generated_from_the_claims(repeated_demo):
    text = render_report(repeated_demo)
    paragraph = re.search(r'<p class="study-summary">(.*?)</p>',
                          section(text, "study-sslmem"), flags=re.S).group(1)  # fmt: skip
    assert paragraph.startswith("Scale: 2 study seeds, each: ")
    assert "2 of 4 claims measured over 2 study seeds." in paragraph
    assert "Reproduced: candidates memorized (Cohen&#39;s d of S_C over S_S +" in paragraph
    assert "Opposite: atypical images memorized (least planted AUROC - 0.5 -0.3 [" in paragraph
    assert "95% t interval of the effect over the study seeds" in paragraph
