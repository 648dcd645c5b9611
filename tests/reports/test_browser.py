"""Open the report in a real headless Chromium: no console errors, every figure decoded, a
repeated study's key figure shown, and nothing wider than the page at 1280 px (screenshots in
``$MNEMOSCOPE_ARTIFACTS``, default ``artifacts/``)."""

import os
import shutil
from pathlib import Path

import pytest

from mnemoscope.analysis.claims import VERDICTS
from mnemoscope.reports import build_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and os.environ.get("CI"):
    raise RuntimeError("CI must install Debian's chromium (see .ci/run) for the browser test")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium here (CI installs it)")

ARTIFACTS = Path(os.environ.get("MNEMOSCOPE_ARTIFACTS", "artifacts"))


def test_report_loads_cleanly_in_chromium(study_dir, sslmem_dir):
    from playwright.sync_api import sync_playwright

    report = build_report(study_dir.parent)  # a demo directory: profiles and sslmem
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = _launch(playwright)
        page = browser.new_page()
        page.on(
            "console",
            lambda message: errors.append(message.text) if message.type == "error" else None,
        )
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(report.as_uri())
        page.wait_for_load_state("load")
        sizes = page.eval_on_selector_all(
            "img", "images => images.map(i => [i.complete, i.naturalWidth, i.naturalHeight])"
        )
        verdicts = page.eval_on_selector_all(
            "table.findings tr.finding", "rows => rows.map(r => r.lastElementChild.innerText)"
        )
        # the findings table is on the first screen, above every study section
        findings_top = page.eval_on_selector("#findings", "e => e.getBoundingClientRect().top")
        planted = page.eval_on_selector_all(".gallery .marked img", "images => images.length")
        pwned = page.evaluate("window.__pwned")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        browser.close()
    assert errors == []
    # 2 profiles figures, sslmem's key figure, 20 gallery images (12 candidates, shown twice)
    assert len(sizes) == 2 + 1 + 20 and all(
        done and width > 0 and height > 0 for done, width, height in sizes
    )
    assert len(verdicts) == 5 and all(v in VERDICTS for v in verdicts)
    assert findings_top < 900 and planted == 2
    assert pwned is None  # the hostile class name was shown, not run
    assert (ARTIFACTS / "report.png").stat().st_size > 1000


def _launch(playwright):
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run"],
    )  # fmt: skip


def test_a_repeated_study_shows_its_key_figure_and_no_table_overflows_at_1280px(repeated_demo):
    """The section of every repeated study shows its key figure without a click, decoded; with
    every block unfolded, the full-page screenshot at 1280 px is 1280 px wide (nothing pushes
    the page sideways) and no table is wider than the box it sits in."""
    from PIL import Image
    from playwright.sync_api import sync_playwright

    report = build_report(repeated_demo)
    with sync_playwright() as playwright:
        browser = _launch(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(report.as_uri())
        page.wait_for_load_state("load")
        keys = page.eval_on_selector_all(
            "section[id^='study-'] > figure.key img",
            "images => images.map(i => [i.closest('section').id, i.complete, i.naturalWidth,"
            " i.getBoundingClientRect().width, i.getBoundingClientRect().height])",
        )
        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        overflowing = page.eval_on_selector_all(
            "table",
            "tables => tables.filter(t => t.getBoundingClientRect().right >"
            " t.parentElement.getBoundingClientRect().right + 1"
            " || t.getBoundingClientRect().right > document.documentElement.clientWidth)"
            ".map(t => t.innerText.slice(0, 80))",
        )
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / "report-repeated-1280.png"
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert {section for section, *_ in keys} == {"study-profiles", "study-sslmem"}
    assert all(done and natural > 0 and width > 100 and height > 50
               for _, done, natural, width, height in keys)  # fmt: skip
    assert overflowing == []
    with Image.open(shot) as image:
        width, height = image.size
    assert width == 1280 and height > 900
