"""Gather what a run directory holds, finished or not, for the report.

A run directory is either one study's (its ``config.yaml`` has a ``study`` key) or a demo's,
whose sub-directories are studies; a study repeated over study seeds brings each seed's
directory (``study-seed-<k>/``, a whole study directory) as one of its ``seeds``. Nothing here
assumes a study finished: whatever exists is collected and whatever is missing is listed, so a
report of a half-done run is still useful.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mnemoscope import studies
from mnemoscope.config_file import packaged_config, read_config
from mnemoscope.errors import BadInput, shorten
from mnemoscope.store import COMPLETE_MARKER, RunDir
from mnemoscope.studies.record import Study
from mnemoscope.studies.repeat import seed_dirs


@dataclass
class StudyOutputs:
    """Everything the report shows about one study run directory."""

    name: str
    record: Study | None  # None: a study this version does not know
    path: Path
    complete: bool
    config_text: str | None
    config: dict[str, Any]
    meta: dict[str, Any]
    summary: dict[str, Any]
    figures: list[Path]
    tables: list[Path]
    missing: list[str] = field(default_factory=list)
    study_seed: int | None = None  # a study seed's directory of a repeated study
    seeds: list[StudyOutputs] = field(default_factory=list)  # a repeated study's, in run order

    @property
    def headlines(self) -> list[str]:
        return [str(line) for line in self.summary.get("headlines", [])]

    @property
    def repeated(self) -> bool:
        """Whether this is a study repeated over study seeds (its config says ``repeat``)."""
        return bool(self.config.get("repeat")) or isinstance(self.summary.get("repeat"), dict)


def collect(run_dir: str | Path) -> list[StudyOutputs]:
    """The studies under ``run_dir`` (itself, or its sub-directories), in the order they ran."""
    root = Path(run_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"run directory {root} does not exist")
    if _study_name(root) is not None:
        return [_collect_study(root)]
    studies = [_collect_study(child) for child in sorted(root.iterdir()) if _study_name(child)]
    # In the order they ran (a demo runs profiles, sslmem, benign); unstarted ones last.
    studies.sort(key=lambda study: str(study.meta.get("started") or "~"))
    if not studies:
        raise ValueError(
            f"{root} holds no study: expected a config.yaml with a 'study' key in it or in one of "
            "its sub-directories (run `mnemoscope run CONFIG.yaml` or `mnemoscope demo` first)"
        )
    return studies


def read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text()) if path.exists() else {}
    except json.JSONDecodeError:
        return {}  # a torn file cannot exist (writes are atomic), but a user may edit one


def _read_summary(path: Path) -> tuple[dict[str, Any], str | None]:
    """A study's ``summary.json`` and, when it cannot be shown, why: ({}, reason) for a file
    that is not JSON (truncated, edited), nests too deep, or is not a summary's shape (an
    object whose ``headlines`` is a list of lines; a repeated study's ``repeat`` an object and
    ``seeds`` an object of summaries)."""
    if not path.exists():
        return {}, None
    try:
        summary = json.loads(path.read_text(errors="replace"))
    except (ValueError, RecursionError) as error:
        problem = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        return {}, f"{path} is unreadable (not JSON: {problem}): run the study again"
    headlines = summary.get("headlines", []) if isinstance(summary, dict) else None
    repeated = isinstance(summary, dict) and "repeat" in summary  # a RepeatedSummary's shape
    shaped = (
        isinstance(headlines, list) and all(isinstance(line, str) for line in headlines)
        and (not repeated or (isinstance(summary["repeat"], dict)
                              and isinstance(summary.get("seeds"), dict)
                              and all(isinstance(seed, dict)
                                      for seed in summary["seeds"].values())))
    )  # fmt: skip
    if not shaped:
        return {}, (f"{path} is unreadable (not a study summary: {shorten(summary, 80)}): "
                    "run the study again")  # fmt: skip
    return summary, None


def _read_yaml(path: Path) -> dict[str, Any]:
    """The mapping in a run directory's YAML file, or {} if it is missing or is not a config
    (a user's file, or one edited by hand); read as every config is (``config_file``)."""
    if not path.is_file():
        return {}
    try:
        return read_config(path)
    except BadInput:
        return {}


def _study_name(path: Path) -> str | None:
    study = _read_yaml(path / "config.yaml").get("study")
    return str(study) if study is not None else None


def is_quick(run_dir: str | Path, studies: list[StudyOutputs]) -> bool:
    """Whether ``run_dir`` is a smoke test: ``mnemoscope demo --quick`` (its config says
    ``demo: quick``) or studies run from the packaged ``*-quick.yaml`` configs unchanged."""
    if _read_yaml(Path(run_dir) / "config.yaml").get("demo") == "quick":
        return True
    return bool(studies) and all(_is_packaged_quick(study) for study in studies)


def _is_packaged_quick(study: StudyOutputs) -> bool:
    if study.record is None:
        return False
    quick = study.record.config.model_validate(packaged_config(study.record.quick_config))
    return quick.model_dump(mode="json") == study.config


def _collect_study(path: Path, study_seed: int | None = None) -> StudyOutputs:
    complete = (path / COMPLETE_MARKER).exists()
    summary, unreadable = _read_summary(path / "summary.json")
    config = _read_yaml(path / "config.yaml")
    figures = sorted((path / "figures").glob("*.png"))
    tables = sorted((path / "tables").glob("*.csv"))
    tables += [
        p for p in sorted((path / "tables").glob("*.parquet")) if not p.with_suffix(".csv").exists()
    ]
    repeated = bool(config.get("repeat")) or isinstance(summary.get("repeat"), dict)
    missing = []
    if not complete:
        missing.append("the study has not finished (no COMPLETE marker): results may be partial")
    # A finished study shows only its own outputs (store: MANIFEST.json); any other file is
    # named, never shown as its result.
    problems = RunDir(path).verify()
    if problems:
        listed = set((RunDir(path).read_manifest() or {}).get("files") or {})
        figures = [p for p in figures if p.relative_to(path).as_posix() in listed]
        tables = [p for p in tables if p.relative_to(path).as_posix() in listed]
        missing += [f"{problem} (left out of this report)" for problem in problems[:5]]
        if len(problems) > 5:
            missing.append(f"and {len(problems) - 5} more such files")
    if unreadable:
        missing.append(unreadable)
    elif not summary:
        missing.append("summary.json (headline findings)")
    if not figures and not repeated:  # a repeated study's are its seeds' and, for some, combined
        missing.append("figures/*.png")
    if not tables:
        missing.append("tables/*")
    name = _study_name(path) or path.name
    seeds = [_collect_study(child, k) for k, child in seed_dirs(path, summary).items()
             if repeated and (child / "config.yaml").is_file()]  # fmt: skip
    return StudyOutputs(
        name=name,
        record=next((study for study in studies.REGISTRY if study.name == name), None),
        path=path,
        complete=complete,
        config_text=(path / "config.yaml").read_text(),
        config=config,
        meta=read_json(path / "meta.json"),
        summary=summary,
        figures=figures,
        tables=tables,
        missing=missing,
        study_seed=study_seed,
        seeds=seeds,
    )
