"""A study repeated over study seeds: ``repeat: {study_seeds: [0, 1, 2]}`` in any study config.

A finding that moves with the machine, the thread count or the draw of a split is not yet a
finding. With ``repeat`` set, ``studies.run(config, out)`` runs the study once per study seed
k into ``out/study-seed-<k>/`` (each a complete study directory with its own ``runs/``), then
writes in ``out`` the combined result: ``summary.json`` (``RepeatedSummary``: the seeds and
their directories, each seed's summary, one headline per claim of the paper) and
``tables/repeat_findings.csv`` (each claim's effect, p-value, minimum detectable effect beside
the paper's effect, and verdict per seed, and combined: ``analysis.claims.combine``), and draws
in ``out/figures/`` the study's figures over its study seeds (``Study.combined_figures``: one
marker per seed, a band over seeds).

The combined figures are drawn here, once the seeds have run, rather than by the report: they
are files of the run like every other figure (a user opens them without the report, and
``mnemoscope report`` stays quick and draws nothing), and they are drawn from what the seeds
stored, so a second run over the same directory redraws them from the reused seeds.

Study seed k shifts every random draw of the study: ``shift_seeds`` adds ``k * SEED_STRIDE`` to
every integer field named ``seed`` or ``*_seed`` anywhere in the config, and to every entry of a
list named ``seeds`` (every study config names a list of seeds so, and a count never:
``studies.config``): splits, training subsets, planted images, training seeds (initialization,
data order, augmentations), random labels, measurement views, binomial draws and permutations,
the toy model's problems. Study seed 0 is the study itself (nothing shifts), so its trainings
are those of an unrepeated run of the same config. The stride keeps the seeds of different
study seeds apart (no two share a network's seed as long as a config's seeds stay below it).
What is a choice, not a draw, stays: the held-out class of sslmem's planted images, dataset
sizes, hyperparameters.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, StrictInt, field_validator

from mnemoscope.analysis.claims import Measured, combine
from mnemoscope.errors import shorten
from mnemoscope.strict import StrictModel
from mnemoscope.studies.record import StudySummary, measure

if TYPE_CHECKING:
    from mnemoscope.studies.frame import Frame
    from mnemoscope.studies.record import Study

SEED_STRIDE = 1000
FINDINGS_TABLE = "repeat_findings"  # tables/<this>: each claim at every study seed, and combined
# The largest study seed: shifts stay below 10**9, far inside every seed range (torch's and
# numpy's take 64 bits), so no seed overflows after the networks have trained.
MAX_STUDY_SEED = 1_000_000
REPEAT_HELP = (
    "run the study once per study seed (every seed of the config shifted) into "
    "study-seed-<k>/ and combine: each headline's spread and a combined test over seeds; "
    "null = once"
)


class RepeatSpec(StrictModel):
    """``repeat:`` of a study config: the study seeds the study runs at."""

    # StrictInt: a boolean or a float is not a study seed (``[true]`` is not ``[1]``).
    study_seeds: list[StrictInt] = Field(
        min_length=1,
        description="study seeds k: the study runs once per k into study-seed-<k>/, every seed "
        f"of its config shifted by k x {SEED_STRIDE} (0 = the study as configured); the "
        "combined summary gives each headline's spread and a combined test over them",
    )
    confidence: float = Field(
        0.95, gt=0, lt=1, description="level of the t interval of each headline over seeds"
    )

    @field_validator("study_seeds")
    @classmethod
    def _distinct(cls, seeds: list[int]) -> list[int]:
        bad = [seed for seed in seeds if not 0 <= seed <= MAX_STUDY_SEED]
        if bad or len(set(seeds)) != len(seeds):
            raise ValueError(
                f"study_seeds must be distinct integers in 0..{MAX_STUDY_SEED:,}, got "
                f"{shorten(seeds)}"
            )
        return seeds


def seed_dir(out: str | Path, study_seed: int) -> Path:
    """Where study seed ``study_seed`` of a repeated study in ``out`` runs."""
    return Path(out) / f"study-seed-{study_seed}"


def shift_seeds(raw: Any, study_seed: int) -> Any:
    """A copy of the config dict ``raw`` with every seed shifted by ``study_seed *
    SEED_STRIDE`` (the rule is in the module docstring); ``repeat`` is dropped."""
    shift = study_seed * SEED_STRIDE

    def walk(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: walk(v, str(k)) for k, v in value.items() if not (k == "repeat" and not key)}
        if key == "seeds" and isinstance(value, list):
            return [v + shift for v in value]
        if isinstance(value, list):
            return [walk(v) for v in value]
        if (key == "seed" or key.endswith("_seed")) and _integer(value):
            return value + shift
        return value

    return walk(raw)


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def seed_config(config: Any, study_seed: int) -> Any:
    """The config of one study seed: ``config`` with its seeds shifted and no ``repeat``."""
    raw = shift_seeds(config.model_dump(mode="json"), study_seed)
    return type(config).model_validate(raw)


class RepeatedSummary(StudySummary):
    """``summary.json`` of a repeated study: the study seeds (``repeat``: seeds, confidence,
    directories), each seed's own summary (``seeds``, by study seed) and one headline per claim
    combined over the seeds."""

    repeat: dict[str, Any]
    seeds: dict[str, dict[str, Any]]


def run_repeated(study: Study, config: Any, frame: Frame) -> RepeatedSummary:
    """Run ``config`` once per study seed into ``seed_dir(OUT, k)`` (each a whole study run,
    frame included) and return the combined summary; ``tables/repeat_findings`` gets each
    claim's measurement at every seed and combined."""
    from mnemoscope.studies.frame import run

    spec: RepeatSpec = config.repeat
    per_seed = {k: seed_config(config, k) for k in spec.study_seeds}  # all valid before any work
    store = frame.start()
    summaries = {}
    for k, seed_config_k in per_seed.items():
        with store.timed(f"study seed {k}"):
            result = run(study, seed_config_k, seed_dir(frame.path, k), progress=frame.display,
                         quiet=frame.quiet)  # fmt: skip
        summaries[k] = json.loads((result.path / "summary.json").read_text())
    summary, table = combined_summary(study, summaries, spec.confidence)
    store.save_table(FINDINGS_TABLE, table)
    with store.timed("figures"):
        study.combined_figures({k: seed_dir(frame.path, k) for k in spec.study_seeds}, store)
    return summary


def combined_summary(
    study: Study, summaries: Mapping[Any, Mapping[str, Any]], confidence: float = 0.95
) -> tuple[RepeatedSummary, Any]:
    """The summary of ``study`` repeated over study seeds (``summaries``: each seed's, by seed)
    and its table of findings: one row per claim and seed, and one combined row per claim."""
    import pandas as pd

    seeds = {str(k): dict(v) for k, v in summaries.items()}
    repeat = {"study_seeds": [int(k) for k in summaries], "confidence": confidence,
              "dirs": [seed_dir(".", int(k)).name for k in summaries]}  # fmt: skip
    rows, headlines = [], []
    typed = {k: study.typed_summary(v) for k, v in seeds.items()}
    for claim in study.claims:
        per_seed = {k: measure(claim, s) for k, s in typed.items()}
        combined = combine(per_seed, confidence)
        for k, m in [*per_seed.items(), ("combined", combined)]:
            measured = m if isinstance(m, Measured) else None
            rows.append({"claim": claim.text, "name": claim.name, "section": claim.section,
                         "effect_name": claim.effect, "study_seed": k,
                         "verdict": measured and measured.verdict,
                         "effect": measured and measured.effect,
                         "p_value": measured and measured.p_value,
                         "mde": measured and measured.mde,
                         "paper_effect": measured and measured.paper_effect,
                         "value": measured and measured.value,
                         "interval": measured and measured.interval,
                         "not_measured": None if measured else m.reason})  # fmt: skip
        if isinstance(combined, Measured):
            headlines.append(f"{claim.text} ({claim.section}): {combined.verdict}; "
                             f"{claim.effect}: {combined.value}")  # fmt: skip
    summary = RepeatedSummary(repeat=repeat, seeds=seeds, headlines=headlines)
    return summary, pd.DataFrame(rows)


def seed_dirs(path: str | Path, raw: Mapping[str, Any]) -> dict[int, Path]:
    """The directory of each study seed of the repeated study in ``path`` whose
    ``summary.json`` is ``raw``, in the order it lists them; a run not finished yet (no summary):
    the ``study-seed-<k>`` directories there are, by seed; empty for a study run once."""
    repeat = raw.get("repeat")
    seeds = repeat.get("study_seeds") if isinstance(repeat, Mapping) else None
    if isinstance(seeds, list) and all(_integer(k) for k in seeds):
        return {int(k): seed_dir(path, int(k)) for k in seeds}
    found = {}
    for child in Path(path).glob("study-seed-*"):
        suffix = child.name.removeprefix("study-seed-")
        if child.is_dir() and suffix.isdigit():
            found[int(suffix)] = child
    return dict(sorted(found.items()))


def seed_summaries(raw: Mapping[str, Any]) -> tuple[dict[str, Any] | None, float]:
    """A repeated study's per-seed summaries by study seed and its interval confidence, or
    ``(None, 0.95)`` for a study run once."""
    repeat, seeds = raw.get("repeat"), raw.get("seeds")
    if not isinstance(repeat, Mapping) or not isinstance(seeds, Mapping) or not seeds:
        return None, 0.95
    confidence = repeat.get("confidence")
    return dict(seeds), float(confidence) if isinstance(confidence, int | float) else 0.95
