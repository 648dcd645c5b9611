"""Studies: one per paper, each composing data, augmentations, models, training and measurements.

A study is a pydantic config class (with a ``study: Literal[NAME]`` field) and a function
``run(config, out, progress=None, quiet=False) -> RunDir`` that trains what it needs under
``out/runs/`` (finished runs are reused), writes its arrays, tables and figures into ``out``
(a ``RunDir``) and marks it complete. ``STUDIES`` maps each name to ``(config class, run)``;
``mnemoscope run CONFIG.yaml`` dispatches on the config's ``study`` key.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

# name -> module defining ``Config`` and ``run``; imported lazily so that `mnemoscope --help`
# stays fast and one study's heavy imports never slow another's.
STUDY_MODULES: dict[str, str] = {
    "profiles": "mnemoscope.studies.profiles",
    "sslmem": "mnemoscope.studies.sslmem",
    "benign": "mnemoscope.studies.benign",
}


def names() -> list[str]:
    return sorted(STUDY_MODULES)


def get(name: str) -> tuple[type, Callable[..., Any]]:
    """The (config class, run function) of study ``name``."""
    if name not in STUDY_MODULES:
        raise ValueError(f"unknown study {name!r}: choose one of {names()}")
    module = importlib.import_module(STUDY_MODULES[name])
    return module.Config, module.run


def load_config(raw: dict[str, Any]) -> Any:
    """Validate a config dict whose ``study`` key names the study."""
    if not isinstance(raw, dict) or "study" not in raw:
        raise ValueError(f"a study config needs a 'study' key naming one of {names()}")
    config_class, _ = get(raw["study"])
    return config_class.model_validate(raw)
