"""Which trained network plays which part in the study: ``tables/sslmem_runs``.

One row per training: ``role`` (``f``: trained on S_S + S_C and the planted images; ``g``:
on S_S + S_I; ``f-supervised`` / ``g-supervised``: the supervised twins of appendix B.3 for
Feldman's score), ``side`` (f or g), ``seed``, the objective and model, the number of training
images, and ``run``: the run directory relative to the study's. ``mnemoscope runs STUDY_DIR``
lists it; ``mnemoscope sslmem-score --from-study STUDY_DIR`` reads the f and g of it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from mnemoscope.training import TrainResult

COLUMNS = ["role", "side", "seed", "objective", "model", "train_images", "run"]


def runs_table(study_dir: str | Path, roles: dict[str, list[TrainResult]]) -> pd.DataFrame:
    """The rows of ``roles`` (role name -> its trainings, one per seed), in that order."""
    rows = []
    for role, results in roles.items():
        for result in results:
            subset = result.config.data.subset
            rows.append({
                "role": role, "side": role[0], "seed": result.config.seed,
                "objective": result.config.objective.name, "model": result.config.model.name,
                "train_images": len(subset) if subset is not None else -1,
                "run": Path(os.path.relpath(result.run.path, study_dir)).as_posix(),
            })  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)


def checkpoints(study_dir: str | Path, role: str, which: str = "final") -> list[Path]:
    """The ``which`` checkpoints of every training of ``role`` (f, g...), by seed."""
    study_dir = Path(study_dir)
    table_path = study_dir / "tables" / "sslmem_runs.parquet"
    if not table_path.exists():
        raise FileNotFoundError(
            f"{table_path} does not exist: the study predates the record of its runs' roles; "
            f"run `mnemoscope run {study_dir / 'config.yaml'} --out {study_dir}` again (its "
            "finished trainings are reused) to write it"
        )
    table = pd.read_parquet(table_path)
    rows = table[table["role"] == role].sort_values("seed", kind="stable")
    if rows.empty:
        known = sorted(set(table["role"]))
        raise ValueError(f"{table_path} has no run of role {role!r}; its roles: {known}")
    return [study_dir / run / "checkpoints" / f"{which}.safetensors" for run in rows["run"]]
