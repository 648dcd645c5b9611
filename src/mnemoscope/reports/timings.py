"""Where a run's wall time went, phase by phase, for the report's run times.

A run directory's ``meta.json`` holds ``timings`` (``RunDir.timed``: exclusive wall seconds per
phase: ``training``, ``figures``, a study's scoring...). Its trainings say what ``training``
holds: each run's metrics give the seconds of its optimizer steps and of its measurement hooks
(``measure_seconds``: recognition tracking, layer probes, named by the hooks in its
``spec.json``), its own ``timings`` the end-of-training probe. Only the trainings this run did
count (those that started after it did): a rerun that reuses finished trainings did not spend
their time.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from mnemoscope.store import TIMINGS

AFTER_FINISH = "report"  # the demo writes its report after its finish time (``demo.run_demo``)


def time_breakdown(path: str | Path, meta: dict[str, Any]) -> list[tuple[str, float]]:
    """``[(phase, seconds)]`` of the run in ``path`` with ``meta`` (its ``meta.json``), largest
    first: its timed phases, ``training`` split into its steps, its measurement hooks and its
    probes, and ``other`` (the wall time no phase covers); empty when nothing was timed.

    The trainings' own seconds add over workers, so ``training``'s wall time is split in
    their proportions: exact for one worker, the share of the work for several."""
    phases = {phase: float(seconds) for phase, seconds in (meta.get(TIMINGS) or {}).items()}
    if not phases:
        return []
    work = {part: seconds for part, seconds in
            _inside_training(Path(path), str(meta.get("started") or "")).items() if seconds > 0}
    if "training" in phases and set(work) - {"training steps"}:  # something to split off
        wall, total = phases.pop("training"), sum(work.values())
        phases.update({part: wall * seconds / total for part, seconds in work.items()})
    wall = wall_seconds(meta)
    if wall is not None:
        within = sum(seconds for phase, seconds in phases.items() if phase != AFTER_FINISH)
        phases["other"] = max(wall - within, 0.0)
    return sorted(phases.items(), key=lambda item: -item[1])


def describe(breakdown: list[tuple[str, float]]) -> str:
    """One line: each phase's seconds and share of their total."""
    total = sum(seconds for _, seconds in breakdown) or 1.0
    return " · ".join(f"{phase} {seconds:,.0f} s ({100 * seconds / total:.0f} %)"
                      for phase, seconds in breakdown if seconds >= 0.5)  # fmt: skip


def _inside_training(path: Path, started: str) -> dict[str, float]:
    """The seconds the trainings under ``path/runs`` that started at or after ``started`` spent
    on optimizer steps, on measurement hooks (by hook names) and on end-of-training probes."""
    work: dict[str, float] = {"training steps": 0.0}
    for run in sorted((path / "runs").glob("*")):
        try:
            meta = json.loads((run / "meta.json").read_text())
            names = sorted(json.loads((run / "spec.json").read_text()).get("hooks") or {})
            metrics = pd.read_parquet(run / "tables" / "metrics.parquet",
                                      columns=["seconds", "measure_seconds"])  # fmt: skip
        except (OSError, ValueError, KeyError, AttributeError):
            continue  # not a finished training (or not one this version wrote): nothing to add
        if str(meta.get("started") or "") < started:
            continue  # reused, trained by an earlier run
        measured = float(metrics["measure_seconds"].sum())
        work["training steps"] += float(metrics["seconds"].sum()) - measured
        if names:
            key = f"measurement during training ({', '.join(names)})"
            work[key] = work.get(key, 0.0) + measured
        probe = float((meta.get(TIMINGS) or {}).get("probe", 0.0))
        work["probes after training"] = work.get("probes after training", 0.0) + probe
    return work


def wall_seconds(meta: dict[str, Any]) -> float | None:
    """Seconds from ``started`` to ``finished`` of a ``meta.json``; None when unfinished."""
    try:
        started = datetime.fromisoformat(meta["started"])
        return (datetime.fromisoformat(meta["finished"]) - started).total_seconds()
    except (KeyError, TypeError, ValueError):
        return None
