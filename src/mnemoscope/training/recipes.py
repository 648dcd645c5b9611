"""Training recipes of the self-supervised methods: the papers' settings and CPU-sized ones.

``recipe(method, scale, **overrides)`` returns a ``TrainConfig``. ``paper``: paper 002 table 6
(CIFAR-size data: 600 epochs, 60 of warm-up, cosine decay) for MAE, SimCLR, DINO and VICReg,
with the architectures of its table 1 (ViT-Tiny for MAE, ResNet-50 otherwise), and each method's
own paper for BYOL, SimSiam and Barlow Twins. ``quick``: the same objectives on ``convnet-small``
(MAE: ``vit-tiny``) with heads a CPU trains in minutes, Adam(W), 20 epochs; use them for demos
and tests, and size epochs and data to the effect measured (``docs/cpu-scale.md``).
"""

from __future__ import annotations

from typing import Any

from mnemoscope.training.config import TrainConfig

METHODS = ("simclr", "byol", "simsiam", "vicreg", "barlowtwins", "dino", "mae")
SCALES = ("quick", "paper")

_PAPER_SCHEDULE = {"epochs": 600, "schedule": "cosine", "warmup_epochs": 60}
PAPER: dict[str, dict[str, Any]] = {
    "simclr": {  # paper 002 table 6; SimCLR appendix B.9 (CIFAR: tau 0.5, weight decay 1e-6)
        "model": {"name": "resnet50", "projector_hidden": 2048, "output_dim": 128},
        "objective": {"name": "simclr", "temperature": 0.5},
        "optim": {"name": "lars", "lr": 4.8, "weight_decay": 1e-6},
        "batch_size": 4096,
    },
    "dino": {  # paper 002 table 6; DINO section 3 / appendix for the head and temperatures
        "model": {"name": "resnet50", "projector_hidden": 2048, "output_dim": 65536},
        "objective": {"name": "dino"},
        "optim": {"name": "adamw", "lr": 2e-3, "weight_decay": 0.04},
        "batch_size": 1024,
    },
    "vicreg": {  # paper 002 table 6; VICReg section 4 for the head (8192 wide)
        "model": {"name": "resnet50", "projector_hidden": 8192, "output_dim": 8192},
        "objective": {"name": "vicreg"},
        "optim": {"name": "sgd", "lr": 3e-3, "weight_decay": 1e-4},
        "batch_size": 256,
    },
    "mae": {  # paper 002 table 6; MAE appendix A.1 (AdamW betas (0.9, 0.95), decay 0.05)
        "model": {"name": "vit-tiny"},
        "objective": {"name": "mae"},
        "optim": {"name": "adamw", "lr": 1.2e-3, "betas": (0.9, 0.95), "weight_decay": 0.05},
        "batch_size": 2048,
    },
    "byol": {  # BYOL section 3.3: LARS 0.2 x batch/256, decay 1.5e-6, 4096 batch
        "model": {"name": "resnet50", "projector_hidden": 4096, "output_dim": 256},
        "objective": {"name": "byol"},
        "optim": {"name": "lars", "lr": 3.2, "weight_decay": 1.5e-6},
        "batch_size": 4096,
    },
    "simsiam": {  # SimSiam section 4 (CIFAR variant, appendix D): SGD 0.03 x batch/256
        "model": {"name": "resnet50", "projector_hidden": 2048, "output_dim": 2048},
        "objective": {"name": "simsiam"},
        "optim": {"name": "sgd", "lr": 0.06, "momentum": 0.9, "weight_decay": 5e-4},
        "batch_size": 512,
    },
    "barlowtwins": {  # Barlow Twins section 4: LARS 0.2, decay 1.5e-6, 2048 batch, 8192 head
        "model": {"name": "resnet50", "projector_hidden": 8192, "output_dim": 8192},
        "objective": {"name": "barlowtwins"},
        "optim": {"name": "lars", "lr": 0.2, "weight_decay": 1.5e-6},
        "batch_size": 2048,
    },
}

_QUICK_MODEL = {"name": "convnet-small", "projector_hidden": 512, "output_dim": 128}
QUICK: dict[str, dict[str, Any]] = {
    "simclr": {"objective": {"name": "simclr", "temperature": 0.2}},
    "byol": {"objective": {"name": "byol", "predictor_hidden": 512, "momentum": 0.99}},
    "simsiam": {"objective": {"name": "simsiam", "predictor_hidden": 128}},
    "vicreg": {"objective": {"name": "vicreg"}},
    "barlowtwins": {"objective": {"name": "barlowtwins"}},
    # DINO learns slowly at this scale: BatchNorm in its head (as lightly's CIFAR benchmarks
    # for ResNets) and a constant teacher temperature 0.04 bring its loss below log K within
    # 8 epochs on 2,000 images, where DINO's ViT settings (no BatchNorm, 0.04 -> 0.07) stay at
    # log K (measured for issue 8: loss 6.6 -> 5.3 vs 6.2 -> 6.9, kNN 0.75 vs 0.72).
    "dino": {
        "model": {"output_dim": 1024},
        "objective": {
            "name": "dino",
            "bottleneck_dim": 128,
            "head_norm": "batchnorm",
            "teacher_temp": 0.04,
            "warmup_teacher_temp_epochs": 0,
            "momentum": 0.99,
        },
    },
    "mae": {
        "model": {"name": "vit-tiny", "projector_hidden": 64},
        "objective": {"name": "mae", "decoder_dim": 128, "decoder_depth": 2, "decoder_heads": 4},
        "optim": {"name": "adamw", "lr": 1.5e-3, "betas": (0.9, 0.95), "weight_decay": 0.05},
    },
}


def recipe(method: str, scale: str = "quick", **overrides: Any) -> TrainConfig:
    """The ``TrainConfig`` of ``method`` at ``scale``, with ``overrides`` merged in (nested
    dicts key by key, e.g. ``recipe("dino", epochs=5, optim={"lr": 1e-3})``)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: choose one of {', '.join(METHODS)}")
    if scale not in SCALES:
        raise ValueError(f"unknown recipe scale {scale!r}: choose one of {', '.join(SCALES)}")
    if scale == "paper":
        base = {**PAPER[method], "epochs": _PAPER_SCHEDULE["epochs"]}
        base["optim"] = {**base["optim"], "warmup_epochs": _PAPER_SCHEDULE["warmup_epochs"]}
    else:
        base = {"model": _QUICK_MODEL, "optim": {"name": "adam", "lr": 1e-3}, "epochs": 20}
        base = _merge(base, QUICK[method])
    return TrainConfig.model_validate(_merge(base, overrides))


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged
