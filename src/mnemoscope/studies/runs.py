"""The trainings of a study run directory (``STUDY_DIR/runs/*``): ``mnemoscope runs``.

Each training's own ``config.yaml`` gives its seed, objective, model and training images; an
sslmem study's ``tables/sslmem_runs`` adds the role each plays (f, g, and the supervised
twins). Studies written before that table existed list their runs without roles.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mnemoscope.config_file import read_config
from mnemoscope.store import COMPLETE_MARKER


def list_runs(study_dir: str | Path) -> list[dict[str, Any]]:
    """One dict per training under ``study_dir/runs``: run, role, seed, objective, model,
    train_images, finished (roles in the study's order, then the rest by name)."""
    study_dir = Path(study_dir)
    if not (study_dir / "config.yaml").is_file():
        raise FileNotFoundError(f"{study_dir} is not a study run directory (no config.yaml)")
    roles = _roles(study_dir)
    rows = []
    for run in sorted(p for p in (study_dir / "runs").glob("*") if (p / "config.yaml").is_file()):
        config = read_config(run / "config.yaml")
        subset = (config.get("data") or {}).get("subset")
        name = f"runs/{run.name}"
        rows.append({
            "run": name, "role": roles.get(name), "seed": config.get("seed"),
            "objective": (config.get("objective") or {}).get("name"),
            "model": (config.get("model") or {}).get("name"),
            "train_images": len(subset) if isinstance(subset, list) else None,
            "finished": (run / COMPLETE_MARKER).exists(),
        })  # fmt: skip
    order = list(roles)
    rows.sort(key=lambda row: order.index(row["run"]) if row["run"] in order else len(order))
    return rows


def _roles(study_dir: Path) -> dict[str, str]:
    path = study_dir / "tables" / "sslmem_runs.parquet"
    if not path.exists():
        return {}
    import pandas as pd

    table = pd.read_parquet(path)
    return dict(zip(table["run"], table["role"], strict=True))
