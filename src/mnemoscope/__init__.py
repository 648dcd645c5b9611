"""mnemoscope: measure memorization in supervised and self-supervised training of image encoders.

Data flows one way: ``data`` -> ``augment`` -> ``models`` -> ``training`` -> ``measure`` ->
``analysis``; ``studies`` compose them (one folder and one ``Study`` record per study),
``reports`` render any study from its record.

    >>> import mnemoscope
    >>> bundle = mnemoscope.data.load("fmnist-mini")

Submodules are imported on first use (PEP 562 ``__getattr__``): ``import mnemoscope`` and
``mnemoscope --help`` stay fast because torch is loaded only when a submodule needs it.
"""

import importlib
from typing import Any

__version__ = "0.1.0"

SUBMODULES = (
    "analysis", "augment", "data", "measure", "models", "reports", "scoring", "store", "studies",
    "training",
)  # fmt: skip
__all__ = ["__version__", *SUBMODULES]


def __getattr__(name: str) -> Any:
    if name in SUBMODULES:
        return importlib.import_module(f"mnemoscope.{name}")
    raise AttributeError(f"module 'mnemoscope' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *SUBMODULES])
