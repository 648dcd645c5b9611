"""A study repeated over study seeds: ``repeat: {study_seeds: [0, 1, 2]}`` in any study config.

A finding that moves with the machine, the thread count or the draw of a split is not yet a
finding (issue 15). With ``repeat`` set, ``run(config, out)`` runs the study once per study
seed k into ``out/study-seed-<k>/`` (each a complete study directory with its own ``runs/``),
then writes in ``out`` the combined result: ``summary.json`` (``repeat``: the seeds and their
directories; ``seeds``: each seed's summary; ``headlines``: one line per claim of the paper) and
``tables/repeat_findings.csv`` (each claim's effect, p-value and verdict per seed, and combined:
``reports.findings.combine``).

Study seed k shifts every random draw of the study: ``shift_seeds`` adds ``k * SEED_STRIDE`` to
every integer field named ``seed`` or ``*_seed`` anywhere in the config, and to every entry of an
integer list named ``seeds`` (sslmem's K encoders a side, ``feldman.seeds``): splits, training
subsets, planted images, training seeds (initialization, data order, augmentations), random
labels, measurement views, binomial draws and permutations, the toy model's problems. Counts
named ``seeds`` (profiles' N, ``verdict.seeds``, ``toy.seeds``) are not seeds and stay; the
networks they count start at a shifted ``first_seed`` / ``seed``. Study seed 0 is the study
itself (nothing shifts), so its trainings are those of an unrepeated run of the same config. The
stride keeps the seeds of different study seeds apart (no two share a network's seed as long as
a config's seeds stay below it). What is a choice, not a draw, stays: the held-out class of
sslmem's planted images, dataset sizes, hyperparameters.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from mnemoscope.strict import StrictModel

SEED_STRIDE = 1000
REPEAT_HELP = (
    "run the study once per study seed (every seed of the config shifted) into "
    "study-seed-<k>/ and combine: each headline's spread and a combined test over seeds; "
    "null = once"
)


class RepeatSpec(StrictModel):
    """``repeat:`` of a study config: the study seeds the study runs at."""

    study_seeds: list[int] = Field(
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
        bad = [seed for seed in seeds if seed < 0]
        if bad or len(set(seeds)) != len(seeds):
            raise ValueError(f"study_seeds must be distinct integers >= 0, got {seeds}")
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
            return [v + shift if _integer(v) else walk(v) for v in value]
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


def run_repeated(
    config: Any, out: Path, run_once: Callable[..., Any], progress=None, quiet: bool = False
) -> Any:
    """Run ``config`` once per study seed (``run_once(seed_config, seed_dir, ...)``) and write
    the combined result into ``out`` (which the caller holds); returns ``out``'s RunDir."""
    from mnemoscope.environment import pick_device, run_environment
    from mnemoscope.reports.findings import combined_summary
    from mnemoscope.store import RunDir, now_iso

    spec: RepeatSpec = config.repeat
    per_seed = {k: seed_config(config, k) for k in spec.study_seeds}  # all valid before any work
    store = RunDir(out)
    store.write_config(config.model_dump(mode="json"))
    store.update_meta(study=config.study, environment=run_environment(pick_device()),
                      started=now_iso(), finished=None)  # fmt: skip
    summaries = {}
    for k, seed_config_k in per_seed.items():
        with store.timed(f"study_seed_{k}"):
            result = run_once(seed_config_k, seed_dir(out, k), progress=progress, quiet=quiet)
        summaries[k] = json.loads((result.path / "summary.json").read_text())
    summary, table = combined_summary(config.study, summaries, spec.confidence)
    summary["repeat"]["dirs"] = [seed_dir(out, k).name for k in spec.study_seeds]
    store.save_table("repeat_findings", table)
    store.write_summary(summary)
    store.update_meta(finished=now_iso())
    store.mark_complete()
    return store
