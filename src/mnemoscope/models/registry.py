"""The model catalog and ``build``, the one way the rest of mnemoscope makes a network.

Each entry is an encoder factory with the signature
``(in_channels, image_size, *, <arch options>)``; its keyword-only parameters are the
``**arch_options`` that ``build`` accepts for that model, with their defaults.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from mnemoscope.models.convnet import convnet_small, convnet_tiny
from mnemoscope.models.encoder import Encoder
from mnemoscope.models.network import Network
from mnemoscope.models.projector import (
    PROJECTOR_KINDS,
    PROJECTOR_NORMS,
    build_dino_head,
    build_projector,
)
from mnemoscope.models.resnet import resnet18, resnet50, wide_resnet50_2
from mnemoscope.models.vit import vit_tiny


@dataclass(frozen=True)
class ModelEntry:
    make_encoder: Callable[..., Encoder]  # (in_channels, image_size, *, **arch_options)
    description: str

    def option_defaults(self) -> dict[str, Any]:
        parameters = inspect.signature(self.make_encoder).parameters.values()
        return {p.name: p.default for p in parameters if p.kind is p.KEYWORD_ONLY}


MODELS: dict[str, ModelEntry] = {
    "convnet-tiny": ModelEntry(
        convnet_tiny, "4-stage conv3x3-BN-ReLU net, widths 16-128; the fastest CPU model"
    ),
    "convnet-small": ModelEntry(
        convnet_small, "4-stage conv3x3-BN-ReLU net, widths 32-256; the CPU demo default"
    ),
    "resnet18": ModelEntry(
        resnet18, "torchvision ResNet-18, CIFAR stem (papers 001, 003); option cifar_stem"
    ),
    "resnet50": ModelEntry(
        resnet50, "torchvision ResNet-50, CIFAR stem (paper 002 SimCLR/DINO); option cifar_stem"
    ),
    "vit-tiny": ModelEntry(
        vit_tiny, "timm ViT-Tiny (192 wide, 12 blocks, 3 heads; paper 002); option patch_size"
    ),
    "wide-resnet50-2": ModelEntry(
        wide_resnet50_2,
        "torchvision Wide ResNet-50-2 (bottlenecks twice as wide), CIFAR stem; option cifar_stem",
    ),
}

# Normalization layers ``build`` can give a network (``norm``).
NORMS = ("batchnorm", "groupnorm")

# Taps the projector adds after the encoder's (with the default one-hidden-layer projector).
PROJECTOR_TAPS = ("projector_hidden", "output")


def names() -> list[str]:
    """Names ``build`` accepts."""
    return list(MODELS)


def build(
    name: str,
    *,
    in_channels: int = 3,
    num_outputs: int = 10,
    projector_hidden: int | None = 512,
    projector_norm: str = "batchnorm",
    image_size: int = 32,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    projector: str = "mlp",
    projector_bottleneck: int = 256,
    norm: str = "batchnorm",
    **arch_options: Any,
) -> Network:
    """A randomly initialized ``Network``: normalization -> encoder ``name`` -> projector.

    Args:
        name: one of ``names()``.
        in_channels: 1 (grayscale) or 3 (RGB).
        num_outputs: classes for a classifier, projection dim for SSL (paper 001: 128).
        projector_hidden: hidden width of the projector MLP (paper 003 goes up to 65,536);
            None or 0 for a single linear layer (a supervised linear classifier).
        projector_norm: "batchnorm" or "none" (paper 003 table 6) after the hidden layer.
        image_size: side of the square input images; fixes ViT's patch grid and is ignored
            by the convolutional models, which take any size.
        mean, std: per-channel input statistics the network normalizes with
            (default 0.5 and 0.5 per channel, mapping [0, 1] to [-1, 1]).
        projector: "mlp" (the projector above) or "dino" (lightly's DINO head: 3-layer MLP
            of width ``projector_hidden``, l2-normalized ``projector_bottleneck``, weight-normed
            layer to ``num_outputs``; see ``mnemoscope.models.projector``).
        projector_bottleneck: the DINO head's bottleneck width (DINO: 256); "dino" only.
        norm: "batchnorm" (the architectures as published) or "groupnorm": every BatchNorm
            replaced by ``GroupNorm(min(32, C), C)`` with Opacus' ``ModuleValidator.fix``, as
            DP-SGD needs (BatchNorm mixes the examples of a batch; ``training.privacy``).
        **arch_options: model specific, e.g. ``cifar_stem`` (ResNets), ``patch_size`` (ViT).

    Raises:
        ValueError: naming the unknown model, option or bad value.
    """
    entry = _entry(name)
    _check_int("in_channels", in_channels, choices=(1, 3))
    _check_int("num_outputs", num_outputs, minimum=1)
    _check_int("image_size", image_size, minimum=1)
    if projector_hidden is not None:
        _check_int("projector_hidden", projector_hidden, minimum=0)
    if projector_norm not in PROJECTOR_NORMS:
        raise ValueError(f"projector_norm must be one of {PROJECTOR_NORMS}, got {projector_norm!r}")
    if projector not in PROJECTOR_KINDS:
        raise ValueError(f"projector must be one of {PROJECTOR_KINDS}, got {projector!r}")
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    mean = _channel_stats("mean", mean, in_channels)
    std = _channel_stats("std", std, in_channels)
    defaults = entry.option_defaults()
    unknown = sorted(set(arch_options) - set(defaults))
    if unknown:
        raise ValueError(
            f"unknown option(s) {', '.join(map(repr, unknown))} for model {name!r}; "
            f"it accepts: {', '.join(defaults) or 'none'}"
        )
    options = {**defaults, **arch_options}

    encoder = entry.make_encoder(in_channels, image_size, **options)
    if projector == "dino":
        head = build_dino_head(
            encoder.embedding_dim, num_outputs, projector_hidden, projector_norm,
            projector_bottleneck,
        )  # fmt: skip
        # Only non-default heads are named in the config: mlp networks keep their old config.
        head_config = {"projector": projector, "projector_bottleneck": projector_bottleneck}
    else:
        head = build_projector(
            encoder.embedding_dim, num_outputs, projector_hidden or None, projector_norm
        )
        head_config = {}
    config = {
        "name": name,
        "in_channels": in_channels,
        "num_outputs": num_outputs,
        "projector_hidden": projector_hidden or None,
        "projector_norm": projector_norm,
        "image_size": image_size,
        "mean": mean,
        "std": std,
        **head_config,
        **({"norm": norm} if norm != "batchnorm" else {}),  # old networks keep their config
        **options,
    }
    network = Network(encoder, head, mean=mean, std=std, arch=name, config=config)
    if norm == "groupnorm":
        from opacus.validators import ModuleValidator  # the privacy extra

        network = ModuleValidator.fix(network)  # no random draws: GroupNorm starts at (1, 0)
    return network


# Bounds on sizes read from a file (checkpoint metadata) before anything is built: generous
# (paper 003's widest projector is 65,536; STL-10 images are 96 pixels), yet a forged file cannot
# ask for gigabytes.
MAX_WIDTH = 1 << 17  # num_outputs, projector_hidden, projector_bottleneck
MAX_IMAGE_SIZE = 1024
SIZE_BOUNDS = {
    "num_outputs": MAX_WIDTH, "projector_hidden": MAX_WIDTH, "projector_bottleneck": MAX_WIDTH,
    "image_size": MAX_IMAGE_SIZE, "patch_size": MAX_IMAGE_SIZE,
}  # fmt: skip


def build_from_state(config: Any, tensors: dict[str, torch.Tensor], source: str) -> Network:
    """The network ``build(**config)`` with the weights ``tensors``, both read from ``source``
    (a checkpoint file), checked before any memory is allocated.

    The architecture (``Network.config``) must name a known model with sizes within
    ``SIZE_BOUNDS``; it is then built on the meta device (shapes only, no memory) and every
    parameter and buffer shape compared with the file's tensors. Only a network whose weights
    the file holds in full is built for real, so the file's size bounds the memory used.

    Raises:
        BadInput: naming ``source``, the value and what was expected.
    """
    from mnemoscope.errors import BadInput, shorten

    if not isinstance(config, dict) or not isinstance(config.get("name"), str):
        raise BadInput(
            f"{source}: network metadata {shorten(config)} is not an architecture: expected a "
            f"mapping with a 'name' (one of {', '.join(MODELS)})"
        )
    for key, bound in SIZE_BOUNDS.items():
        value = config.get(key)
        if value is None and key == "projector_hidden":
            continue
        if key in config and not (isinstance(value, int) and not isinstance(value, bool)
                                  and 1 <= value <= bound):  # fmt: skip
            raise BadInput(
                f"{source}: network metadata {key}={shorten(value)} is out of bounds: expected "
                f"an integer in 1..{bound:,}"
            )
    try:
        with torch.device("meta"):
            skeleton = build(**config)
    except (ValueError, TypeError) as error:
        raise BadInput(f"{source}: network metadata does not build: {error}") from error
    expected = {key: tuple(value.shape) for key, value in skeleton.state_dict().items()}
    found = {key: tuple(value.shape) for key, value in tensors.items()}
    problems = [f"missing {key}" for key in expected if key not in found]
    problems += [f"unexpected {key}" for key in found if key not in expected]
    problems += [
        f"{key} is {list(found[key])}, expected {list(shape)}"
        for key, shape in expected.items()
        if key in found and found[key] != shape
    ]
    if problems:
        more = f" and {len(problems) - 3} more" if len(problems) > 3 else ""
        raise BadInput(
            f"{source}: the weights do not match the declared architecture "
            f"({config['name']!r}): {'; '.join(problems[:3])}{more}"
        )
    network = build(**config)
    network.load_state_dict(tensors)
    return network


def catalog(in_channels: int = 3, image_size: int = 32) -> list[dict[str, Any]]:
    """One row per model: name, encoder_params, embedding_dim, taps, description.

    Counts are for the default options at this ``in_channels`` / ``image_size`` (ViT's
    position embedding grows with the image). The taps are those of a default ``build``.
    """
    _check_int("in_channels", in_channels, choices=(1, 3))
    _check_int("image_size", image_size, minimum=1)
    rows = []
    for name, entry in MODELS.items():
        # On the meta device: shapes only, no memory and no random init to pay for.
        with torch.device("meta"):
            encoder = entry.make_encoder(in_channels, image_size)
        rows.append(
            {
                "name": name,
                "encoder_params": sum(p.numel() for p in encoder.parameters()),
                "embedding_dim": encoder.embedding_dim,
                "taps": [*encoder.tap_names, *PROJECTOR_TAPS],
                "description": entry.description,
            }
        )
    return rows


def _entry(name: str) -> ModelEntry:
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(MODELS)}")
    return MODELS[name]


def _check_int(
    name: str, value: Any, *, minimum: int | None = None, choices: Sequence[int] | None = None
) -> None:
    # bool is an int subclass; projector_hidden=True is a bug, not a width of 1.
    ok = isinstance(value, int) and not isinstance(value, bool)
    if ok and minimum is not None and value < minimum:
        ok = False
    if ok and choices is not None and value not in choices:
        ok = False
    if not ok:
        wanted = f"one of {tuple(choices)}" if choices is not None else f"an int >= {minimum}"
        raise ValueError(f"{name} must be {wanted}, got {value!r}")


def _channel_stats(name: str, values: Sequence[float] | None, in_channels: int) -> list[float]:
    if values is None:
        return [0.5] * in_channels
    values = [float(v) for v in values]
    if len(values) != in_channels:
        raise ValueError(f"{name} needs {in_channels} values (in_channels), got {values}")
    if name == "std" and any(v <= 0 for v in values):
        raise ValueError(f"std must be positive, got {values}")
    return values
