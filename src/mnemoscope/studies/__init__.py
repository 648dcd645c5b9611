"""Studies: each composes data, augmentations, models, training and measurements into one
paper's experiments, and is one folder exporting one ``Study`` record (``studies.record``).

``REGISTRY`` is the tuple of every study's record, in the order reports list them; ``get(name)``
finds one by its config's ``study:`` key, and ``run(config, out)`` runs it inside the frame every
study shares (``studies.frame``: one writer per directory, input checked before the first write,
``COMPLETE`` written last, ``repeat`` over study seeds). Adding a study is adding a folder and
its name to ``FOLDERS`` (docs/adding-a-study.md).
"""

from __future__ import annotations

import functools
import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.progress import Progress

    from mnemoscope.store import RunDir
    from mnemoscope.studies.record import Study

# The study folders, in the order reports list them. Their records are imported on first use,
# so that `mnemoscope --help` stays fast.
FOLDERS = ("profiles", "sslmem", "benign", "removal", "privacy", "dejavu", "atlas", "privacy_audit")


@functools.cache
def registry() -> tuple[Study, ...]:
    """Every study's record (``STUDY`` of each folder), in ``FOLDERS`` order."""
    return tuple(importlib.import_module(f"{__name__}.{folder}").STUDY for folder in FOLDERS)


def __getattr__(name: str) -> Any:
    if name == "REGISTRY":
        return registry()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def names() -> list[str]:
    return sorted(study.name for study in registry())


def get(name: str) -> Study:
    """The record of the study whose config says ``study: name``."""
    for study in registry():
        if study.name == name:
            return study
    raise ValueError(f"unknown study {name!r}: choose one of {names()}")


def load_config(raw: dict[str, Any]) -> Any:
    """Validate a config dict whose ``study`` key names the study."""
    if not isinstance(raw, dict) or "study" not in raw:
        raise ValueError(f"a study config needs a 'study' key naming one of {names()}")
    return get(raw["study"]).config.model_validate(raw)


def run(config: Any, out: str | Path, *, progress: Progress | None = None,
        quiet: bool = False) -> RunDir:  # fmt: skip
    """Run the study ``config`` names into ``out`` (``studies.frame``); returns its RunDir."""
    from mnemoscope.studies.frame import run as run_in_frame

    return run_in_frame(get(config.study), config, out, progress=progress, quiet=quiet)
