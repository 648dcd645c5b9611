"""Training recipes of the self-supervised methods: the papers' settings and CPU-sized ones.

``recipe(method, scale, **overrides)`` returns a ``TrainConfig``. ``paper``: paper 002 table 6
(CIFAR-size data: 600 epochs, 60 of warm-up, cosine decay) for MAE, SimCLR, DINO and VICReg,
with the architectures of its table 1 (ViT-Tiny for MAE, ResNet-50 otherwise), and each method's
own paper for BYOL, SimSiam and Barlow Twins. ``quick``: the same objectives on ``convnet-small``
(MAE: ``vit-tiny``) with heads a CPU trains in minutes, Adam(W), 20 epochs; use them for demos
and tests, and size epochs and data to the effect measured (``docs/cpu-scale.md``).
Each method's fields are in its registration record (``objectives.<method>.METHOD``).
"""

from __future__ import annotations

from typing import Any

from mnemoscope.training.config import TrainConfig, overlay_fields
from mnemoscope.training.objectives import REGISTRY

# The methods with recipes (the self-supervised ones), from their registration records.
METHODS = tuple(name for name, method in REGISTRY.items() if method.quick is not None)
SCALES = ("quick", "paper")

_PAPER_SCHEDULE = {"epochs": 600, "schedule": "cosine", "warmup_epochs": 60}
_QUICK_MODEL = {"name": "convnet-small", "projector_hidden": 512, "output_dim": 128}


def recipe(method: str, scale: str = "quick", **overrides: Any) -> TrainConfig:
    """The ``TrainConfig`` of ``method`` at ``scale``, with ``overrides`` laid over it
    (``config.overlay_fields``, e.g. ``recipe("dino", epochs=5, optim={"lr": 1e-3})``)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: choose one of {', '.join(METHODS)}")
    if scale not in SCALES:
        raise ValueError(f"unknown recipe scale {scale!r}: choose one of {', '.join(SCALES)}")
    if scale == "paper":
        base = {**REGISTRY[method].paper, "epochs": _PAPER_SCHEDULE["epochs"]}
        base["optim"] = {**base["optim"], "warmup_epochs": _PAPER_SCHEDULE["warmup_epochs"]}
    else:
        base = {"model": _QUICK_MODEL, "optim": {"name": "adam", "lr": 1e-3}, "epochs": 20}
        base = overlay_fields(base, REGISTRY[method].quick)
    return TrainConfig.model_validate(overlay_fields(base, overrides))
