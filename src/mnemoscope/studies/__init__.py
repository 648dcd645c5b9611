"""Studies: one per paper, each composing data, augmentations, models, training and measurements.

A study is a pydantic config class (with a ``study: Literal[NAME]`` field) and a function
``run(config, out, progress=None, quiet=False) -> RunDir`` that trains what it needs under
``out/runs/`` (finished runs are reused), writes its arrays, tables and figures into ``out``
(a ``RunDir``) and marks it complete. ``STUDIES`` maps each name to ``(config class, run)``;
``mnemoscope run CONFIG.yaml`` dispatches on the config's ``study`` key. Every ``run`` is
decorated with ``exclusive``: one process at a time writes a study directory, and a config
with ``repeat: {study_seeds: [...]}`` runs once per study seed (``studies.repeat``).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

# name -> module defining ``Config`` and ``run``; imported lazily so that `mnemoscope --help`
# stays fast and one study's heavy imports never slow another's.
STUDY_MODULES: dict[str, str] = {
    "profiles": "mnemoscope.studies.profiles",
    "sslmem": "mnemoscope.studies.sslmem",
    "benign": "mnemoscope.studies.benign",
    "sslmem-removal": "mnemoscope.studies.removal",
    "sslmem-privacy": "mnemoscope.studies.privacy",
    "sslmem-dejavu": "mnemoscope.studies.dejavu",
}


def names() -> list[str]:
    return sorted(STUDY_MODULES)


def get(name: str) -> tuple[type, Callable[..., Any]]:
    """The (config class, run function) of study ``name``."""
    if name not in STUDY_MODULES:
        raise ValueError(f"unknown study {name!r}: choose one of {names()}")
    module = importlib.import_module(STUDY_MODULES[name])
    return module.Config, module.run


def module(name: str) -> Any:
    """The module of study ``name``; its ``study_specs(config, bundle)`` lists the runs."""
    if name not in STUDY_MODULES:
        raise ValueError(f"unknown study {name!r}: choose one of {names()}")
    return importlib.import_module(STUDY_MODULES[name] + ".study")


def load_config(raw: dict[str, Any]) -> Any:
    """Validate a config dict whose ``study`` key names the study."""
    if not isinstance(raw, dict) or "study" not in raw:
        raise ValueError(f"a study config needs a 'study' key naming one of {names()}")
    config_class, _ = get(raw["study"])
    return config_class.model_validate(raw)


def exclusive(run: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a study's ``run(config, out, ...)`` so that it owns ``out`` while it runs.

    ``store.claim(out)`` holds the directory's lock, refusing a second study in the same ``out``
    at once with a ``locks.LockHeld`` naming the running one (two configs' results would mix),
    and removes the temporaries of writes killed earlier. ``COMPLETE`` goes when the study
    writes its config (``RunDir.write_config``), so a refused start changes nothing. A config
    whose ``repeat`` is set runs once per study seed into sub-directories of ``out``, which
    then holds the combined result (``repeat.run_repeated``).
    """

    @functools.wraps(run)
    def owned(config: Any, out: str | Path, *args: Any, **kwargs: Any) -> Any:
        from mnemoscope.store import claim  # lazily: torch is slow to import for `--help`

        with claim(out):
            if getattr(config, "repeat", None) is not None:
                from mnemoscope.studies.repeat import run_repeated

                return run_repeated(config, Path(out), owned, *args, **kwargs)
            return run(config, out, *args, **kwargs)

    return owned
