"""Render a run directory as one self-contained HTML file: figures embedded, no network, no JS.

Every piece of text that comes from data (class names, paths, config values, table cells) goes
through ``html.escape`` (tables through pandas' escaping ``to_html``), so a class called
``<script>`` is shown, never run.
"""

from __future__ import annotations

import base64
import html
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from mnemoscope.reports.collect import StudyOutputs, collect, read_json
from mnemoscope.store import atomic_write_text

MAX_TABLE_ROWS = 40

STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 1rem 2rem;
       color: #222; }
h1 { margin-bottom: 0.2rem; } h2 { border-bottom: 2px solid #ddd; padding-bottom: 0.2rem; }
nav a { margin-right: 1rem; } code, pre { background: #f5f5f5; border-radius: 4px; }
pre { padding: 0.6rem; overflow-x: auto; font-size: 13px; }
figure { margin: 1rem 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 13px; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 2px 8px; text-align: right; }
th { background: #f0f0f0; } td ul { text-align: left; margin: 0; }
.missing { color: #a40; } .ok { color: #070; }
.table-wrap { overflow-x: auto; }
"""


def build_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write ``report.html`` (or ``out``) for ``run_dir`` atomically and return its path."""
    run_dir = Path(run_dir)
    path = Path(out) if out is not None else run_dir / "report.html"
    return atomic_write_text(path, render_report(run_dir))


def render_report(run_dir: str | Path) -> str:
    run_dir = Path(run_dir)
    studies = collect(run_dir)
    top_meta = read_json(run_dir / "meta.json") if len(studies) > 1 else studies[0].meta
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>mnemoscope report: {_e(run_dir.name)}</title>",
        f"<style>{STYLE}</style></head><body>",
        "<header><h1>mnemoscope report</h1>",
        f"<p>Run directory <code>{_e(run_dir.resolve())}</code>; report written "
        f"{_e(datetime.now(timezone.utc).isoformat(timespec='seconds'))}.</p></header>",
        _nav(studies),
        _overview(studies),
        *(_study_section(study) for study in studies),
        _environment(studies, top_meta),
        _run_times(studies, top_meta),
        "</body></html>",
    ]
    return "\n".join(parts)


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _anchor(study: StudyOutputs) -> str:
    return "study-" + "".join(ch if ch.isalnum() else "-" for ch in study.path.name)


def _nav(studies: list[StudyOutputs]) -> str:
    links = ['<a href="#overview">Overview</a>']
    links += [f'<a href="#{_anchor(s)}">{_e(s.name)}</a>' for s in studies]
    links += ['<a href="#environment">Environment</a>', '<a href="#run-times">Run times</a>']
    return "<nav>" + "".join(links) + "</nav>"


def _overview(studies: list[StudyOutputs]) -> str:
    rows = []
    for study in studies:
        status = '<span class="ok">complete</span>' if study.complete else (
            '<span class="missing">partial</span>')  # fmt: skip
        headlines = "".join(f"<li>{_e(line)}</li>" for line in study.headlines) or (
            '<li class="missing">no headline findings yet</li>')  # fmt: skip
        rows.append(
            f'<tr><td style="text-align:left"><a href="#{_anchor(study)}">{_e(study.name)}</a></td>'
            f'<td>{status}</td><td style="text-align:left"><ul>{headlines}</ul></td></tr>'
        )
    return (
        '<section id="overview"><h2>Overview</h2><table><tr><th>study</th><th>status</th>'
        f"<th>headline findings</th></tr>{''.join(rows)}</table></section>"
    )


def _study_section(study: StudyOutputs) -> str:
    parts = [f'<section id="{_anchor(study)}"><h2>{_e(study.name)}</h2>']
    parts.append(f"<p>Directory <code>{_e(study.path)}</code></p>")
    if study.missing:
        items = "".join(f"<li>{_e(item)}</li>" for item in study.missing)
        parts.append(f'<div class="missing"><p>Missing:</p><ul>{items}</ul></div>')
    if study.headlines:
        parts.append("<ul>" + "".join(f"<li>{_e(line)}</li>" for line in study.headlines) + "</ul>")
    captions = study.summary.get("figure_captions", {})
    for figure in study.figures:
        encoded = base64.b64encode(figure.read_bytes()).decode("ascii")
        caption = captions.get(figure.stem, figure.stem.replace("_", " "))
        parts.append(
            f'<figure><img src="data:image/png;base64,{encoded}" alt="{_e(caption)}">'
            f"<figcaption>{_e(caption)} <code>figures/{_e(figure.name)}</code></figcaption>"
            "</figure>"
        )
    for table in study.tables:
        parts.append(_table(table))
    if study.config_text is not None:
        parts.append(
            f"<details><summary>Config</summary><pre>{_e(study.config_text)}</pre></details>"
        )
    parts.append("</section>")
    return "\n".join(parts)


def _table(path: Path) -> str:
    try:
        frame = pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)
    except Exception as error:  # a report must render even when one table does not
        return f'<p class="missing">could not read {_e(path.name)}: {_e(error)}</p>'
    note = ""
    if len(frame) > MAX_TABLE_ROWS:
        note = f" (first {MAX_TABLE_ROWS} of {len(frame):,} rows)"
        frame = frame.head(MAX_TABLE_ROWS)
    body = frame.to_html(index=False, escape=True, float_format=lambda x: f"{x:.4g}", border=0)
    return f'<h3>tables/{_e(path.name)}{_e(note)}</h3><div class="table-wrap">{body}</div>'


def _environment(studies: list[StudyOutputs], top_meta: dict[str, Any]) -> str:
    environment = top_meta.get("environment") or next(
        (s.meta["environment"] for s in studies if "environment" in s.meta), {}
    )
    if not environment:
        return _not_recorded("environment", "Environment")
    git = environment.get("git") or {}
    commit = git.get("commit", "not a git checkout") + (
        " (with local changes)" if git.get("dirty") else ""
    )
    rows = [("device", environment.get("device")), ("gpu", environment.get("gpu")),
            ("python", environment.get("python")), ("platform", environment.get("platform")),
            ("torch threads", environment.get("torch_threads")),
            ("cpu bf16", environment.get("cpu_bf16")), ("git commit", commit)]  # fmt: skip
    rows += [(name, version) for name, version in (environment.get("versions") or {}).items()]
    body = "".join(
        f'<tr><th>{_e(key)}</th><td style="text-align:left">{_e(value)}</td></tr>'
        for key, value in rows
        if value is not None
    )
    return f'<section id="environment"><h2>Environment</h2><table>{body}</table></section>'


def _run_times(studies: list[StudyOutputs], top_meta: dict[str, Any]) -> str:
    rows = []
    whole_run = [("whole run", top_meta)] if len(studies) > 1 else []
    for label, meta in whole_run + [(s.name, s.meta) for s in studies]:
        started, finished = meta.get("started"), meta.get("finished")
        if started is None:
            continue
        seconds = _seconds_between(started, finished)
        rows.append(
            f"<tr><th>{_e(label)}</th><td>{_e(started)}</td>"
            f"<td>{_e(finished or 'not finished')}</td>"
            f"<td>{_e(f'{seconds:,.0f} s' if seconds is not None else '-')}</td></tr>"
        )
    if not rows:
        return _not_recorded("run-times", "Run times")
    return (
        '<section id="run-times"><h2>Run times</h2><table><tr><th></th><th>started</th>'
        f"<th>finished</th><th>duration</th></tr>{''.join(rows)}</table></section>"
    )


def _not_recorded(anchor: str, title: str) -> str:
    return f'<section id="{anchor}"><h2>{title}</h2><p class="missing">not recorded</p></section>'


def _seconds_between(started: str, finished: str | None) -> float | None:
    try:
        end = datetime.fromisoformat(finished) if finished else None
        return (end - datetime.fromisoformat(started)).total_seconds() if end else None
    except (TypeError, ValueError):
        return None
