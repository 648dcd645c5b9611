"""Render a run directory as one self-contained HTML file: figures embedded, no network, no JS.

The page is ``templates/report.html`` rendered by Jinja2 with autoescaping on, so every value
from data (class names, paths, config values, table cells) is escaped by default: a class called
``<script>`` is shown, never run. This module only gathers plain values for the template, and
names no study: what it shows of each comes from the study's record (``studies.record``).

The page reads in five minutes: the scale of the run, a smoke-test banner for ``--quick`` runs
and the findings table (each study's claims with this run's value and verdict), then one section
per study that leads with its key figure (for a repeated study, the figure over its study seeds
where the study draws one, else each seed's key figure), a paragraph generated from its claims'
results, the claims at every study seed in one compact table and the pictures a reader should
not have to unfold (a gallery). The detail is folded below, one click away: every other figure,
the summary tables, per-image tables as links to their files, the config, and for a repeated
study one block per study seed holding that seed's whole study section.

Figures are embedded as palette PNGs (``embedded_png``: 256 colours, which matplotlib's plots
never need more of) so that the page stays a file a user can mail.
"""

from __future__ import annotations

import base64
import io
import os
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd

from mnemoscope.analysis.claims import Measured, Measurement
from mnemoscope.reports.collect import StudyOutputs, collect, is_quick, read_json
from mnemoscope.reports.findings import SMOKE_TEST, FindingRow, effect_text, finding_rows
from mnemoscope.reports.numbers import decimals, number
from mnemoscope.reports.timings import describe, time_breakdown, wall_seconds
from mnemoscope.store import atomic_write_text
from mnemoscope.studies.record import Section
from mnemoscope.studies.repeat import FINDINGS_TABLE

MAX_INLINE_ROWS = 40
MAX_COLUMNS = 9  # a wider table with fewer rows than columns is shown turned
PALETTE_COLOURS = 256


@cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("mnemoscope.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def build_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write ``report.html`` (or ``out``) for ``run_dir`` atomically and return its path."""
    run_dir = Path(run_dir)
    path = Path(out) if out is not None else run_dir / "report.html"
    return atomic_write_text(path, render_report(run_dir, path.parent))


def render_report(run_dir: str | Path, report_dir: str | Path | None = None) -> str:
    """The page for ``run_dir``; links to table files are relative to ``report_dir``
    (default: ``run_dir``, where ``build_report`` writes it)."""
    run_dir = Path(run_dir)
    report_dir = Path(report_dir) if report_dir is not None else run_dir
    studies = collect(run_dir)
    top_meta = read_json(run_dir / "meta.json") if len(studies) > 1 else studies[0].meta
    quick = is_quick(run_dir, studies)
    found = finding_rows(studies, quick)
    rows = [_finding_row(row, quick) for row in found]
    context = {
        "run_name": run_dir.name,
        "run_path": str(run_dir.resolve()),
        "written": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "scale": _scale(studies, quick),
        "quick": quick,
        "findings": [row for row in rows if row["measured"]],
        "not_measured": [row for row in rows if not row["measured"]],
        "studies": [_study(study, report_dir, [r for r in found if r.study is study], quick)
                    for study in studies],  # fmt: skip
        "environment": _environment(studies, top_meta),
        "run_times": _run_times(studies, top_meta, run_dir),
    }
    return _templates().get_template("report.html").render(**context)


def anchor(study: StudyOutputs) -> str:
    return "study-" + "".join(ch if ch.isalnum() else "-" for ch in study.path.name)


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def embedded_png(png: bytes) -> bytes:
    """``png`` as a palette PNG of at most ``PALETTE_COLOURS`` colours (no dithering), when that
    is smaller; a figure with transparency, or one that does not decode, as it is. A plot's
    anti-aliased edges are what the palette thins; a factor of about three in size."""
    from PIL import Image

    try:
        image = Image.open(io.BytesIO(png))
        image.load()
    except Exception:  # not for the report to judge: the browser shows what it can
        return png
    if image.mode in ("RGBA", "LA") and image.getchannel("A").getextrema()[0] < 255:
        return png
    paletted = image.convert("RGB").quantize(PALETTE_COLOURS, method=Image.Quantize.MEDIANCUT,
                                             dither=Image.Dither.NONE)  # fmt: skip
    buffer = io.BytesIO()
    paletted.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue() if buffer.tell() < len(png) else png


def _figure_uri(path: Path) -> str:
    return _data_uri(embedded_png(path.read_bytes()))


# -- the top of the page -------------------------------------------------------------------------


def _finding_row(row: FindingRow, quick: bool) -> dict[str, Any]:
    measured = row.measured if row.is_measured else None
    return {
        "measured": measured is not None, "paper": f"paper {row.claim.paper}",
        "paper_title": row.paper_title, "section": row.claim.section, "claim": row.claim.text,
        "value": measured.value if measured else "", "interval": measured and measured.interval,
        "power": row.power,
        "reason": "" if measured else row.measured.reason, "verdict": row.verdict,
        "verdict_class": _verdict_class(row.verdict, quick),
    }  # fmt: skip


def _verdict_class(verdict: str, quick: bool) -> str:
    return "smoke-test" if quick else verdict.replace(" ", "-")


def _scale(studies: list[StudyOutputs], quick: bool) -> dict[str, Any]:
    kind = "quick (smoke test)" if quick else "as configured"
    devices = {str(s.meta.get("environment", {}).get("device", "?")) for s in studies if s.meta}
    lines = [f"{study.name}: {_study_scale(study)}" for study in studies]
    summary = (f"{len(studies)} {'study' if len(studies) == 1 else 'studies'}, {kind} scale, "
               f"on {', '.join(sorted(devices)) or 'an unrecorded device'}. The papers train "
               "ResNets on CIFAR-10 for hundreds of epochs; CPU-scale runs reproduce the methods "
               "and the direction of the effects, not the papers' numbers.")  # fmt: skip
    return {"summary": summary, "lines": lines}


def _study_scale(study: StudyOutputs) -> str:
    """One line of sizes from the study's config (``StudyConfig.describe``), after the number
    of study seeds of a repeated study."""
    if study.record is None:
        return "a study this version of mnemoscope does not know"
    try:
        config = study.record.config.model_validate(study.config)
    except ValueError:  # pydantic's ValidationError: a config of another version
        return "sizes unknown (its config.yaml is not a config of this version)"
    repeat = getattr(config, "repeat", None)
    seeds = f"{len(repeat.study_seeds)} study seeds, each: " if repeat is not None else ""
    return seeds + config.describe()


# -- one study -----------------------------------------------------------------------------------


def _study(study: StudyOutputs, report_dir: Path, found: list[FindingRow], quick: bool
           ) -> dict[str, Any]:  # fmt: skip
    record = study.record
    prefix = anchor(study)
    paper = record.paper if record else None
    lead, shown_seed_keys = _lead_figures(study, prefix)
    lead_stems = {figure["stem"] for figure in lead if figure["seed"] is None}
    per_seed = [figure for figure in lead if figure["seed"] is not None]
    seeds = [_seed_block(seed, report_dir, f"{prefix}-seed-{seed.study_seed}",
                         skip_key=seed.study_seed in shown_seed_keys)
             for seed in study.seeds]  # fmt: skip
    if study.repeated:  # the claims' sentences are in the findings table: no headlines here
        own = _contents(study, report_dir, prefix, skip=lead_stems, headlines=False,
                        linked={FINDINGS_TABLE})  # fmt: skip
    else:
        own = _contents(study, report_dir, prefix, skip=lead_stems)
    return {
        "name": study.name, "anchor": prefix, "path": str(study.path),
        "complete": study.complete, "missing": study.missing, "repeated": study.repeated,
        "paper": paper.number if paper else None, "paper_title": paper.short if paper else "",
        "lead": [figure for figure in lead if figure["seed"] is None],
        "lead_per_seed": per_seed,
        "lead_caption": ("Each study seed's own key figure: " + per_seed[0]["caption"]
                         if per_seed else ""),
        "summary": _paragraph(study, found, quick),
        "seed_table": _seed_table(found, quick) if study.repeated else None,
        "own": own, "seeds": seeds,
        "fold": ("Over the study seeds: " if study.repeated else "")
        + _fold(own, more=bool(lead) and not study.repeated, lead_inside=False),
    }  # fmt: skip


def _lead_figures(study: StudyOutputs, prefix: str) -> tuple[list[dict[str, Any]], set[int]]:
    """The figures the study's section opens with, and the study seeds whose key figure they
    show: the key figure; for a repeated study its ``repeated_key_figure`` (drawn over the
    seeds), or, where the study draws none, each study seed's own key figure (side by side, one
    caption)."""
    record = study.record
    if record is None:
        return [], set()
    stem = record.repeated_key_figure if study.repeated else record.key_figure
    path = next((f for f in study.figures if f.stem == stem), None)
    if path is not None:
        return [_figure(study, path, prefix)], set()
    if not study.repeated:
        return [], set()
    lead, shown = [], set()
    for seed in study.seeds:
        path = next((f for f in seed.figures if f.stem == record.key_figure), None)
        if path is not None:
            lead.append(_figure(seed, path, f"{prefix}-seed-{seed.study_seed}"))
            shown.add(seed.study_seed)
    return lead, shown


def _seed_block(seed: StudyOutputs, report_dir: Path, prefix: str, skip_key: bool
                ) -> dict[str, Any]:  # fmt: skip
    key = seed.record.key_figure if seed.record and skip_key else None
    contents = _contents(seed, report_dir, prefix, skip={key} if key else set())
    return {"study_seed": seed.study_seed, "anchor": prefix, "path": seed.path.name,
            "complete": seed.complete, "missing": seed.missing, "key_above": key is not None,
            "fold": _fold(contents, more=False), **contents}  # fmt: skip


def _contents(study: StudyOutputs, report_dir: Path, prefix: str, skip: set[str],
              headlines: bool = True, linked: frozenset[str] | set[str] = frozenset()
              ) -> dict[str, Any]:  # fmt: skip
    """What a study directory shows besides its lead: its sections (``lead`` ones apart), its
    figures in caption order (``skip``: shown above), summary tables inline, per-image tables
    (and ``linked`` ones) as links, its headlines and its config."""
    record = study.record
    sections = [_section(study, section, prefix) for section in _sections(study)]
    replaced = {stem for section in sections for stem in section["replaces"]}
    order = list(record.captions) if record else []
    shown = sorted((p for p in study.figures if p.stem not in replaced | skip),
                   key=lambda p: (order.index(p.stem) if p.stem in order else len(order), p.stem))
    summary_tables, raw_tables = [], []
    per_image = (record.per_image_tables if record else frozenset()) | frozenset(linked)
    for path in study.tables:
        if path.stem in replaced:
            continue
        table = _table(path, report_dir, per_image)
        (raw_tables if table.get("href") else summary_tables).append(table)
    return {
        "lead_sections": [s for s in sections if s["lead"]],
        "sections": [s for s in sections if not s["lead"]],
        "figures": [_figure(study, path, prefix) for path in shown],
        "summary_tables": summary_tables, "raw_tables": raw_tables,
        "headlines": study.headlines if headlines else [],
        "config_text": study.config_text,
    }  # fmt: skip


def _sections(study: StudyOutputs) -> list[Section]:
    """The study's own sections; one that cannot be drawn says so (a report must render)."""
    if study.record is None:
        return []
    summary = study.record.typed_summary(study.summary)
    try:
        return study.record.sections(study.path, summary)
    except (OSError, ValueError, KeyError) as error:  # a table or array edited or torn by hand
        return [Section("A section of this study", "broken", f"could not be drawn: {error}")]


def _section(study: StudyOutputs, section: Section, prefix: str) -> dict[str, Any]:
    figures = [path for path in study.figures if path.stem in section.figures]
    return {
        "title": section.title, "anchor": f"{prefix}-{section.anchor}", "lead": section.lead,
        "note": section.note, "mark": section.mark, "replaces": section.replaces,
        "galleries": [{"title": title, "images": [
            {"uri": _data_uri(_png(image.image)), "label": image.label, "rank": image.rank,
             "score": image.score, "marked": image.marked} for image in images]}
            for title, images in section.galleries],
        "figures": [_figure(study, path, prefix) for path in figures],
        "tables": [_frame_table(title, frame) for title, frame in section.tables],
    }  # fmt: skip


def _figure(study: StudyOutputs, path: Path, prefix: str) -> dict[str, Any]:
    caption = study.record.caption(path.stem) if study.record else path.stem
    return {"anchor": f"{prefix}-{path.stem}", "uri": _figure_uri(path), "caption": caption,
            "stem": path.stem, "seed": study.study_seed}  # fmt: skip


# -- what a study found, in words and in one table ----------------------------------------------


VERDICT_ORDER = ("reproduced", "opposite", "not at this scale", "undecided")


def _paragraph(study: StudyOutputs, found: list[FindingRow], quick: bool) -> str:
    """One paragraph, generated: the study's scale, then its claims grouped by verdict, each by
    its short name with its effect (and the effect's interval over study seeds), then the claims
    it did not measure (their reasons are in the findings table)."""
    if study.record is None:
        return "A study this version of mnemoscope does not know: its claims cannot be read."
    text = f"Scale: {_study_scale(study)}."
    if not found:
        return text
    measured = [row for row in found if row.is_measured]
    over = f"over {len(study.seeds)} study seeds" if study.repeated else "in this run"
    if measured:
        described = [(row, _described(row)) for row in measured]
        if quick:
            text += (f" A smoke test, not findings; each claim's effect {over}: "
                     + "; ".join(part for _, part in described) + ".")  # fmt: skip
        else:
            text += f" {len(measured)} of {len(found)} claims measured {over}."
            for verdict in VERDICT_ORDER:
                parts = [part for row, part in described if row.verdict == verdict]
                if parts:
                    text += f" {verdict.capitalize()}: {'; '.join(parts)}."
        if study.repeated and any(row.measured.low is not None for row in measured):
            text += (f" In brackets: the {_confidence(study):.0%} t interval of the effect over "
                     "the study seeds.")  # fmt: skip
    missing = [row.claim.name for row in found if not row.is_measured]
    if missing:
        text += f" Not measured: {', '.join(missing)} (the findings table says why)."
    return text


def _described(row: FindingRow) -> str:
    """A claim's short name and its effect: "name (effect name +0.12 [+0.05, +0.20])"."""
    measured = row.measured
    assert isinstance(measured, Measured)
    effect = effect_text(measured, None)
    return f"{row.claim.name} ({row.claim.effect} {effect})" if effect else (
        f"{row.claim.name} ({measured.value})")  # fmt: skip


def _fold(contents: dict[str, Any], more: bool, lead_inside: bool = True) -> str:
    """What a folded block holds, in a few words (its summary line); ``lead_inside``: the
    block shows the lead sections too."""
    figures = len(contents["figures"])
    items = [f"{figures} {'more ' if more else ''}figure{'' if figures == 1 else 's'}"
             ] if figures else []  # fmt: skip
    sections = contents["lead_sections"] * lead_inside + contents["sections"]
    items += [section["title"] for section in sections]
    if contents["summary_tables"] or contents["raw_tables"]:
        items.append("tables")
    if contents["headlines"]:
        items.append("headline numbers")
    if contents["config_text"] is not None:
        items.append("config")
    return ", ".join(items) or "nothing yet"


def _confidence(study: StudyOutputs) -> float:
    repeat = study.summary.get("repeat") or study.config.get("repeat") or {}
    confidence = repeat.get("confidence") if isinstance(repeat, dict) else None
    return float(confidence) if isinstance(confidence, int | float) else 0.95


def _seed_table(found: list[FindingRow], quick: bool) -> dict[str, Any] | None:
    """The claims of a repeated study at every study seed, one row per claim that some seed
    measured: its short name, one cell per seed (effect, verdict) and the combined cell (effect
    with its interval, verdict, combined p). Effects are printed to the decimals that the
    combined interval supports; a claim no seed measured adds no row (the paragraph names it)."""
    rows = [row for row in found if row.is_measured]
    if not rows:
        return None
    seeds = list(rows[0].per_seed)
    body = []
    for row in rows:
        combined = row.measured
        assert isinstance(combined, Measured)
        places = (decimals(combined.low, combined.high)
                  if combined.low is not None and combined.high is not None else None)  # fmt: skip
        cells = [_seed_cell(row.per_seed.get(k), places, quick) for k in seeds]
        p = f"combined p = {combined.p_value:.2g}" if combined.p_value is not None else ""
        combined_cell = {"effect": effect_text(combined, places), "p": p, "verdict": row.verdict,
                         "verdict_class": _verdict_class(row.verdict, quick)}  # fmt: skip
        body.append({"name": row.claim.name, "claim": row.claim.text,
                     "effect_name": row.claim.effect, "cells": cells,
                     "combined": combined_cell})  # fmt: skip
    return {"seeds": seeds, "rows": body}


def _seed_cell(measured: Measurement | None, places: int | None, quick: bool
               ) -> dict[str, str]:  # fmt: skip
    if not isinstance(measured, Measured):
        reason = measured.reason if measured is not None else "no summary for this seed"
        return {"effect": "", "verdict": "not measured", "verdict_class": "not-measured",
                "title": reason}  # fmt: skip
    effect = number(measured.effect, places) if measured.effect is not None else measured.value
    verdict = SMOKE_TEST if quick else measured.verdict
    return {"effect": effect, "verdict": "" if quick else verdict,
            "verdict_class": _verdict_class(verdict, quick), "title": measured.value}  # fmt: skip


# -- tables and images ---------------------------------------------------------------------------


def _frame_table(title: str, frame: pd.DataFrame) -> dict[str, Any]:
    """A table's cells for the page. One wider than ``MAX_COLUMNS`` that has fewer rows than
    columns is shown turned (a row per column, a column per row, headed by its first cell) so
    that it fits the page's width."""
    frame = frame.head(MAX_INLINE_ROWS)
    rows = [[_cell(value) for value in row] for row in frame.itertuples(index=False)]
    columns = [str(c) for c in frame.columns]
    if len(columns) > MAX_COLUMNS and len(rows) < len(columns):
        turned = [[column, *(row[i] for row in rows)] for i, column in enumerate(columns)]
        return {"title": f"{title} (turned: a row per column)",
                "columns": [columns[0], *(row[0] for row in rows)], "rows": turned[1:]}  # fmt: skip
    return {"title": title, "columns": columns, "rows": rows}


def _table(path: Path, report_dir: Path, per_image: frozenset[str]) -> dict[str, Any]:
    """A summary table's cells (inlined), or a raw table's link and size (never inlined)."""
    try:
        frame = pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)
    except Exception as error:  # a report must render even when one table does not
        return {"title": f"tables/{path.name}", "columns": ["could not read the table"],
                "rows": [[str(error)]]}  # fmt: skip
    if path.stem in per_image or len(frame) > MAX_INLINE_ROWS:
        size = f"{len(frame):,} rows; columns {', '.join(map(str, frame.columns))}"
        return {"name": f"tables/{path.name}", "size": size,
                "href": Path(os.path.relpath(path, report_dir)).as_posix()}  # fmt: skip
    return _frame_table(path.stem.replace("_", " "), frame)


def _cell(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return "-" if np.isnan(value) else f"{value:.4g}"
    return str(value)


def _png(image: np.ndarray) -> bytes:
    """A uint8 [C, H, W] image as PNG bytes (matplotlib's writer; grey for one channel)."""
    from matplotlib import image as mpimg

    picture = np.asarray(image).transpose(1, 2, 0)
    buffer = io.BytesIO()
    if picture.shape[-1] == 1:
        mpimg.imsave(buffer, picture[..., 0], cmap="gray", vmin=0, vmax=255, format="png")
    else:
        mpimg.imsave(buffer, picture, format="png")
    return buffer.getvalue()


# -- the end of the page -------------------------------------------------------------------------


def _environment(studies: list[StudyOutputs], top_meta: dict[str, Any]) -> list[tuple[str, Any]]:
    environment = top_meta.get("environment") or next(
        (s.meta["environment"] for s in studies if "environment" in s.meta), {}
    )
    if not environment:
        return []
    git = environment.get("git") or {}
    commit = git.get("commit", "not a git checkout") + (
        " (with local changes)" if git.get("dirty") else ""
    )
    cpu = environment.get("cpu") or {}
    rows = [("device", environment.get("device")), ("gpu", environment.get("gpu")),
            ("cpu", cpu.get("model")), ("cpu flags", " ".join(cpu.get("flags") or []) or None),
            ("python", environment.get("python")), ("platform", environment.get("platform")),
            ("torch threads", environment.get("torch_threads")),
            ("cpu bf16", environment.get("cpu_bf16")), ("git commit", commit)]  # fmt: skip
    rows += list((environment.get("versions") or {}).items())
    return [(key, value) for key, value in rows if value is not None]


def _run_times(
    studies: list[StudyOutputs], top_meta: dict[str, Any], top: Path
) -> list[dict[str, str]]:
    """One row per run (the whole run of a demo, each study, each study seed): its start,
    finish, duration and where the time went (``timings``)."""
    runs = [("whole run", top, top_meta)] if len(studies) > 1 else []
    for study in studies:
        runs.append((study.name, study.path, study.meta))
        runs += [(f"{study.name}, study seed {seed.study_seed}", seed.path, seed.meta)
                 for seed in study.seeds]  # fmt: skip
    rows = []
    for label, path, meta in runs:
        started, finished = meta.get("started"), meta.get("finished")
        if started is None:
            continue
        seconds = wall_seconds(meta)
        rows.append({"label": label, "started": str(started),
                     "finished": str(finished or "not finished"),
                     "duration": f"{seconds:,.0f} s" if seconds is not None else "-",
                     "phases": describe(time_breakdown(path, meta))})  # fmt: skip
    return rows
