"""Render a run directory as one self-contained HTML file: figures embedded, no network, no JS.

The page is ``templates/report.html`` rendered by Jinja2 with autoescaping on, so every value
from data (class names, paths, config values, table cells) is escaped by default: a class called
``<script>`` is shown, never run. This module only gathers plain values for the template.

The page opens with the scale of the run, a smoke-test banner for ``--quick`` runs, and the
findings table (``findings.py``: one row per headline claim of each paper with this run's value
and verdict), then one section per study: figures with captions (``figures.py``), summary tables
inline, per-image tables as links to their files.
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

from mnemoscope.reports import figures as captions
from mnemoscope.reports.collect import StudyOutputs, collect, is_quick, read_json
from mnemoscope.reports.findings import PAPERS, findings
from mnemoscope.store import atomic_write_text

MAX_INLINE_ROWS = 40
# Per-image, per-run or per-epoch tables: linked as files, never inlined (whatever their size).
RAW_TABLES = {
    "recognition", "profile_distance", "training", "sslmem_scores", "sslmem_method_scores",
    "sslmem_feldman", "sslmem_runs", "sslmem_unitmem", "benign_training", "benign_probes",
    "benign_invariance", "benign_toy",
}  # fmt: skip
STUDY_PAPERS = {"profiles": "001", "sslmem": "002", "benign": "003"}
STUDY_PAPERS["sslmem-removal"] = "002"  # section 4.4 and appendix D.5: removal and coreset
STUDY_PAPERS["sslmem-privacy"] = "002"
STUDY_PAPERS["sslmem-dejavu"] = "002"
RAW_TABLES |= {"sslmem_dejavu_images", "sslmem_dejavu_seeds"}  # the Déjà Vu study's
GALLERY_SIZE = 10
GALLERY_FIGURE = "sslmem_fig1_most_memorized"  # what the gallery replaces in the page
# Wang et al. 2024 (LayerMem, UnitMem): shown in their own section of the sslmem study
LOCALIZATION_FIGURES = ("sslmem_layermem", "sslmem_unitmem", "sslmem_unitmem_top")
LOCALIZATION_TABLES = ("sslmem_unitmem_layers", "sslmem_unitmem_top")
LAYERMEM_COLUMNS = ["tap", "layer", "layermem", "delta_layermem", "layermem_raw",
                    "delta_layermem_raw"]  # fmt: skip


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
    rows = [row for study in studies for row in _finding_rows(study, quick)]
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


def _finding_rows(study: StudyOutputs, quick: bool) -> list[dict[str, Any]]:
    rows = []
    for finding in findings(study.name, study.summary):
        claim, measured = finding.claim, finding.measured
        verdict = "not assessed (smoke test)" if quick else measured.verdict if measured else ""
        rows.append({
            "measured": measured is not None,
            "paper": f"paper {claim.paper}", "paper_title": PAPERS.get(claim.paper, ""),
            "section": claim.section, "claim": claim.text,
            "value": measured.value if measured else "", "interval": measured and measured.interval,
            "verdict": verdict,
            "verdict_class": "smoke-test" if quick else verdict.replace(" ", "-"),
        })  # fmt: skip
    return rows


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
    """One line of sizes from the study's config (read defensively: configs change)."""
    config = study.config
    nested = config.get("sslmem") or {}  # a downstream study's ranking SSLMem study
    train = config.get("train") or config.get("training") or nested.get("train") or {}
    data = (train.get("data") or config.get("data") or {}).get("name", "?")
    model = (train.get("model") or config.get("model") or {}).get("name", "?")
    parts = [f"{data}, {model}"]
    seeds = config.get("seeds", nested.get("seeds"))
    count = len(seeds) if isinstance(seeds, list) else seeds
    if study.name == "profiles":
        tracking = config.get("tracking") or {}
        parts.append(f"N = {count} seeds per paradigm, |X| = {tracking.get('size', '?')} tracked "
                     f"images, M = {tracking.get('augmentations', '?')} augmentations")  # fmt: skip
    elif study.name == "sslmem":
        splits = config.get("splits") or {}
        parts.append(f"K = {count} encoders a side, |S_S| = {splits.get('shared', '?')}, "
                     f"|S_C| = {splits.get('candidates', '?')}")  # fmt: skip
    elif count is not None:
        parts.append(f"{count} seeds")
    epochs = train.get("epochs")
    if epochs is not None:
        parts.append(f"{epochs} epochs")
    return "; ".join(str(part) for part in parts)


def _thumbnails(studies: list[StudyOutputs]) -> list[dict[str, str]]:
    thumbs = []
    for study in studies:
        stem = captions.KEY_FIGURES.get(study.name)
        path = next((f for f in study.figures if f.stem == stem), None)
        if path is not None:
            entry = captions.CAPTIONS[stem]
            thumbs.append({"study": study.name, "target": f"{anchor(study)}-{stem}",
                           "uri": _data_uri(path.read_bytes()),
                           "caption": entry.reproduces or entry.shows})  # fmt: skip
    return thumbs


# -- one study -----------------------------------------------------------------------------------


def _study(study: StudyOutputs, report_dir: Path) -> dict[str, Any]:
    overrides = study.summary.get("figure_captions") or {}
    gallery = _gallery(study) if study.name == "sslmem" else None
    # The gallery shows fig. 1's images with planted ones marked: the static figure would repeat it.
    shown = [p for p in study.figures if not (gallery and p.stem == GALLERY_FIGURE)]
    localization = _localization(study, overrides) if study.name == "sslmem" else None
    if localization:
        shown = [p for p in shown if p.stem not in LOCALIZATION_FIGURES]
    figures = [_figure(study, path, overrides)
               for path in sorted(shown, key=lambda p: (captions.order(p.stem), p.stem))]
    summary_tables, raw_tables = [], []
    for path in study.tables:
        if localization and path.stem in LOCALIZATION_TABLES:
            continue
        table = _table(path, report_dir)
        (raw_tables if table.get("href") else summary_tables).append(table)
    paper = STUDY_PAPERS.get(study.name)
    return {
        "name": study.name, "anchor": anchor(study), "path": str(study.path),
        "complete": study.complete, "missing": study.missing, "headlines": study.headlines,
        "paper": paper, "paper_title": PAPERS.get(paper or "", ""),
        "gallery": gallery, "localization": localization,
        "figures": figures, "summary_tables": summary_tables, "raw_tables": raw_tables,
        "config_text": study.config_text,
    }  # fmt: skip


def _figure(study: StudyOutputs, path: Path, overrides: dict[str, Any]) -> dict[str, str]:
    return {"anchor": f"{anchor(study)}-{path.stem}", "uri": _data_uri(path.read_bytes()),
            "caption": str(overrides.get(path.stem) or captions.caption(path.stem))}  # fmt: skip


def _localization(study: StudyOutputs, overrides: dict[str, Any]) -> dict[str, Any] | None:
    """Wang et al. 2024's section: LayerMem per tap in the network's order (from
    ``sslmem_taps``), UnitMem per layer and its most memorizing units, with their figures
    (None when the run measured neither)."""
    tables_dir = study.path / "tables"
    tables = []
    try:
        taps_path = tables_dir / "sslmem_taps.parquet"
        if taps_path.exists():
            taps = pd.read_parquet(taps_path)
            if "delta_layermem" in taps.columns:
                ordered = taps.sort_values("depth", kind="stable")[LAYERMEM_COLUMNS]
                tables.append(_frame_table("LayerMem per tap (network order)", ordered))
        for name, title in (("sslmem_unitmem_layers", "UnitMem per layer"),
                            ("sslmem_unitmem_top", "Most memorizing units")):  # fmt: skip
            path = tables_dir / f"{name}.parquet"
            if path.exists():
                tables.append(_frame_table(title, pd.read_parquet(path)))
    except Exception:  # a report must render even when this section cannot
        return None
    figures = [_figure(study, path, overrides) for path in study.figures
               if path.stem in LOCALIZATION_FIGURES]  # fmt: skip
    if not tables and not figures:
        return None
    note = ("Wang et al., Localizing Memorization in SSL Vision Encoders (NeurIPS 2024). "
            "LayerMem is SSLMem read at each layer's flattened, l2-normalized output with the "
            "same encoders and views (mean normalized score of the candidates S_C; raw: before "
            "normalization); Delta-LayerMem its change from the layer before. UnitMem of a unit "
            "is (mu_max - mu_rest) / (mu_max + mu_rest) over its mean activation per training "
            "image: 1 = it responds to one image only, 0 = to all equally.")  # fmt: skip
    return {"note": note, "tables": tables, "figures": figures}


def _frame_table(title: str, frame: pd.DataFrame) -> dict[str, Any]:
    rows = [[_cell(value) for value in row] for row in frame.head(MAX_INLINE_ROWS)
            .itertuples(index=False)]  # fmt: skip
    return {"title": title, "columns": [str(c) for c in frame.columns], "rows": rows}


def _table(path: Path, report_dir: Path) -> dict[str, Any]:
    """A summary table's cells (inlined), or a raw table's link and size (never inlined)."""
    try:
        frame = pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)
    except Exception as error:  # a report must render even when one table does not
        return {"title": f"tables/{path.name}", "columns": ["could not read the table"],
                "rows": [[str(error)]]}  # fmt: skip
    if path.stem in RAW_TABLES or len(frame) > MAX_INLINE_ROWS:
        size = f"{len(frame):,} rows; columns {', '.join(map(str, frame.columns))}"
        return {"name": f"tables/{path.name}", "size": size,
                "href": Path(os.path.relpath(path, report_dir)).as_posix()}  # fmt: skip
    rows = [[_cell(value) for value in row] for row in frame.itertuples(index=False)]
    return {"title": path.stem.replace("_", " "), "columns": [str(c) for c in frame.columns],
            "rows": rows}  # fmt: skip


def _cell(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return "-" if np.isnan(value) else f"{value:.4g}"
    return str(value)


def _gallery(study: StudyOutputs) -> dict[str, Any] | None:
    """The most and least memorized candidates as small images, planted ones marked, from
    ``tables/sslmem_scores`` and ``arrays/candidate_images.npy`` (None when either is absent)."""
    scores_path = study.path / "tables" / "sslmem_scores.parquet"
    images_path = study.path / "arrays" / "candidate_images.npy"
    if not scores_path.exists() or not images_path.exists():
        return None
    try:
        scores = pd.read_parquet(scores_path)
        images = np.load(images_path, allow_pickle=False)
    except Exception:  # a report must render even when the gallery cannot
        return None
    candidates = scores[scores["subset"] == "S_C"].reset_index(drop=True)
    center = str(study.summary.get("center", "plain"))
    column = "score_norm" if center == "plain" else f"score_norm_{center}"
    if column not in candidates or len(candidates) != len(images):
        return None
    ranked = candidates.assign(position=np.arange(len(candidates)))
    ranked = ranked.sort_values(column, ascending=False, kind="stable")
    classes = list(study.summary.get("classes") or [])
    planted_kinds = sorted(set(candidates["kind"]) - {"ordinary"})
    note = ("Candidates S_C are the images only the encoders f trained on, ranked by their "
            f"normalized SSLMem score ({center} estimate). Paper 002 finds atypical images among "
            "the most memorized.")  # fmt: skip
    if planted_kinds:
        note += (f" Images marked planted ({', '.join(k.replace('_', ' ') for k in planted_kinds)}"
                 ") were added to S_C as known atypical images: where they rank tells whether "
                 "the score finds them.")  # fmt: skip
    rows = []
    least = ranked.tail(GALLERY_SIZE)[::-1]
    for title, part, first_rank in (("Most memorized", ranked.head(GALLERY_SIZE), 1),
                                    ("Least memorized", least, len(ranked))):  # fmt: skip
        shown = []
        for offset, row in enumerate(part.itertuples()):
            planted = row.kind != "ordinary"
            if planted:
                label = row.kind.replace("_", " ")
            else:
                label = classes[row.label] if 0 <= row.label < len(classes) else str(row.label)
            rank = first_rank + offset if first_rank == 1 else first_rank - offset
            shown.append({"uri": _data_uri(_png(images[row.position])), "label": label,
                          "planted": planted, "rank": rank,
                          "score": f"{getattr(row, column):+.3f}"})  # fmt: skip
        rows.append({"title": title, "images": shown})
    return {"note": note, "rows": rows}


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
