"""Render a run directory as one self-contained HTML file: figures embedded, no network, no JS.

The page is ``templates/report.html`` rendered by Jinja2 with autoescaping on, so every value
from data (class names, paths, config values, table cells) is escaped by default: a class called
``<script>`` is shown, never run. This module only gathers plain values for the template, and
names no study: what it shows of each comes from the study's record (``studies.record``).

The page opens with the scale of the run, a smoke-test banner for ``--quick`` runs, and the
findings table (each study's claims with this run's value and verdict), then one section per
study: its own sections (a gallery, say), figures with captions, summary tables inline,
per-image tables as links to their files.
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

from mnemoscope.reports.collect import StudyOutputs, collect, is_quick, read_json
from mnemoscope.reports.findings import FindingRow, finding_rows
from mnemoscope.store import atomic_write_text
from mnemoscope.studies.record import Section

MAX_INLINE_ROWS = 40


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
    rows = [_finding_row(row, quick) for row in finding_rows(studies, quick)]
    context = {
        "run_name": run_dir.name,
        "run_path": str(run_dir.resolve()),
        "written": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "scale": _scale(studies, quick),
        "quick": quick,
        "findings": [row for row in rows if row["measured"]],
        "not_measured": [row for row in rows if not row["measured"]],
        "thumbnails": _thumbnails(studies),
        "studies": [_study(study, report_dir) for study in studies],
        "environment": _environment(studies, top_meta),
        "run_times": _run_times(studies, top_meta),
    }
    return _templates().get_template("report.html").render(**context)


def anchor(study: StudyOutputs) -> str:
    return "study-" + "".join(ch if ch.isalnum() else "-" for ch in study.path.name)


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


# -- the top of the page -------------------------------------------------------------------------


def _finding_row(row: FindingRow, quick: bool) -> dict[str, Any]:
    measured = row.measured if row.is_measured else None
    return {
        "measured": measured is not None, "paper": f"paper {row.claim.paper}",
        "paper_title": row.paper_title, "section": row.claim.section, "claim": row.claim.text,
        "value": measured.value if measured else "", "interval": measured and measured.interval,
        "power": row.power,
        "reason": "" if measured else row.measured.reason, "verdict": row.verdict,
        "verdict_class": "smoke-test" if quick else row.verdict.replace(" ", "-"),
    }  # fmt: skip


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
    """One line of sizes from the study's config (``StudyConfig.describe``)."""
    if study.record is None:
        return "a study this version of mnemoscope does not know"
    try:
        return study.record.config.model_validate(study.config).describe()
    except ValueError:  # pydantic's ValidationError: a config of another version
        return "sizes unknown (its config.yaml is not a config of this version)"


def _thumbnails(studies: list[StudyOutputs]) -> list[dict[str, str]]:
    thumbs = []
    for study in studies:
        if study.record is None:
            continue
        stem = study.record.key_figure
        path = next((f for f in study.figures if f.stem == stem), None)
        if path is not None:
            entry = study.record.captions.get(stem)
            thumbs.append({"study": study.name, "target": f"{anchor(study)}-{stem}",
                           "uri": _data_uri(path.read_bytes()),
                           "caption": (entry.reproduces or entry.shows) if entry else stem})
    return thumbs


# -- one study -----------------------------------------------------------------------------------


def _study(study: StudyOutputs, report_dir: Path) -> dict[str, Any]:
    record = study.record
    sections = [_section(study, section) for section in _sections(study)]
    replaced = {stem for section in sections for stem in section["replaces"]}
    order = list(record.captions) if record else []
    shown = sorted((p for p in study.figures if p.stem not in replaced),
                   key=lambda p: (order.index(p.stem) if p.stem in order else len(order), p.stem))
    summary_tables, raw_tables = [], []
    per_image = record.per_image_tables if record else frozenset()
    for path in study.tables:
        if path.stem in replaced:
            continue
        table = _table(path, report_dir, per_image)
        (raw_tables if table.get("href") else summary_tables).append(table)
    paper = record.paper if record else None
    return {
        "name": study.name, "anchor": anchor(study), "path": str(study.path),
        "complete": study.complete, "missing": study.missing, "headlines": study.headlines,
        "paper": paper.number if paper else None, "paper_title": paper.short if paper else "",
        "sections": sections,
        "figures": [_figure(study, path) for path in shown],
        "summary_tables": summary_tables, "raw_tables": raw_tables,
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


def _section(study: StudyOutputs, section: Section) -> dict[str, Any]:
    figures = [path for path in study.figures if path.stem in section.figures]
    return {
        "title": section.title, "anchor": f"{anchor(study)}-{section.anchor}",
        "note": section.note, "mark": section.mark, "replaces": section.replaces,
        "galleries": [{"title": title, "images": [
            {"uri": _data_uri(_png(image.image)), "label": image.label, "rank": image.rank,
             "score": image.score, "marked": image.marked} for image in images]}
            for title, images in section.galleries],
        "figures": [_figure(study, path) for path in figures],
        "tables": [_frame_table(title, frame) for title, frame in section.tables],
    }  # fmt: skip


def _figure(study: StudyOutputs, path: Path) -> dict[str, str]:
    caption = study.record.caption(path.stem) if study.record else path.stem
    return {"anchor": f"{anchor(study)}-{path.stem}", "uri": _data_uri(path.read_bytes()),
            "caption": caption}  # fmt: skip


def _frame_table(title: str, frame: pd.DataFrame) -> dict[str, Any]:
    rows = [[_cell(value) for value in row] for row in frame.head(MAX_INLINE_ROWS)
            .itertuples(index=False)]  # fmt: skip
    return {"title": title, "columns": [str(c) for c in frame.columns], "rows": rows}


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


def _run_times(studies: list[StudyOutputs], top_meta: dict[str, Any]) -> list[dict[str, str]]:
    rows = []
    whole_run = [("whole run", top_meta)] if len(studies) > 1 else []
    for label, meta in whole_run + [(s.name, s.meta) for s in studies]:
        started, finished = meta.get("started"), meta.get("finished")
        if started is None:
            continue
        seconds = _seconds_between(started, finished)
        rows.append({"label": label, "started": str(started),
                     "finished": str(finished or "not finished"),
                     "duration": f"{seconds:,.0f} s" if seconds is not None else "-"})  # fmt: skip
    return rows


def _seconds_between(started: str, finished: str | None) -> float | None:
    try:
        end = datetime.fromisoformat(finished) if finished else None
        return (end - datetime.fromisoformat(started)).total_seconds() if end else None
    except (TypeError, ValueError):
        return None
