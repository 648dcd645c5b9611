"""Where a run's wall time went, phase by phase, for the report's run times.

A run directory's ``meta.json`` holds ``timings`` (``RunDir.timed``: exclusive wall seconds per
phase: ``training``, ``figures``, a study's scoring...). Its trainings add what the epochs'
seconds hide inside ``training``: each run's metrics give the seconds its measurement hooks
took (``measure_seconds``: recognition tracking, layer probes, named by the hooks in its
``spec.json``) and its own ``timings`` the end-of-training probe. Only the trainings this run
did count (those that started after it did): a rerun that reuses finished trainings did not
spend their time. With several workers the trainings' seconds add over workers, so they may
exceed the ``training`` wall time; the report says so.
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
    probes, and ``other`` (the wall time no phase covers); empty when nothing was timed."""
    phases = {phase: float(seconds) for phase, seconds in (meta.get(TIMINGS) or {}).items()}
    if not phases:
        return []
    hooks, probes = _inside_training(Path(path), str(meta.get("started") or ""))
    if "training" in phases and (hooks or probes):
        inside = sum(hooks.values()) + probes
        phases["training steps"] = max(phases.pop("training") - inside, 0.0)
        phases.update({f"measurement during training ({name})": s for name, s in hooks.items()})
        if probes:
            phases["probes after training"] = probes
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


def _inside_training(path: Path, started: str) -> tuple[dict[str, float], float]:
    """The seconds of measurement hooks (by hook names) and of end-of-training probes of the
    trainings under ``path/runs`` that started at or after ``started``."""
    hooks: dict[str, float] = {}
    probes = 0.0
    for run in sorted((path / "runs").glob("*")):
        try:
            meta = json.loads((run / "meta.json").read_text())
            names = sorted((json.loads((run / "spec.json").read_text()).get("hooks") or {}))
        except (OSError, ValueError, AttributeError):
            continue  # not a training (or not one this version wrote): nothing to add
        if str(meta.get("started") or "") < started:
            continue  # reused, trained by an earlier run
        probes += float((meta.get(TIMINGS) or {}).get("probe", 0.0))
        metrics = run / "tables" / "metrics.parquet"
        if names and metrics.exists():
            seconds = pd.read_parquet(metrics, columns=["measure_seconds"])["measure_seconds"]
            key = ", ".join(names)
            hooks[key] = hooks.get(key, 0.0) + float(seconds.sum())
    return hooks, probes


def wall_seconds(meta: dict[str, Any]) -> float | None:
    """Seconds from ``started`` to ``finished`` of a ``meta.json``; None when unfinished."""
    try:
        started = datetime.fromisoformat(meta["started"])
        return (datetime.fromisoformat(meta["finished"]) - started).total_seconds()
    except (KeyError, TypeError, ValueError):
        return None
