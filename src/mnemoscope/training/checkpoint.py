"""Training state <-> safetensors, so that a killed run resumes bit for bit.

safetensors holds only tensors plus string metadata, and never executes code on load (unlike
pickle-based ``torch.save``). Optimizer and scheduler state are nested dicts and lists of
tensors and plain numbers: tensors go into the file under their path, and the rest of the tree
goes into the metadata as JSON with ``{"__tensor__": path}`` where a tensor was. Dicts are stored
as key/value pairs because optimizer state is keyed by integers, which JSON objects cannot keep.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import torch

from mnemoscope.store import RunDir


def split_tensors(tree: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """Move every tensor of ``tree`` into ``tensors`` and return the JSON-able remainder."""
    if isinstance(tree, torch.Tensor):
        tensors[prefix] = tree
        return {"__tensor__": prefix}
    if isinstance(tree, dict):
        return {
            "__dict__": [
                [key, split_tensors(value, f"{prefix}/{key}", tensors)]
                for key, value in tree.items()
            ]
        }
    if isinstance(tree, list | tuple):
        return [
            split_tensors(value, f"{prefix}/{index}", tensors) for index, value in enumerate(tree)
        ]
    if tree is None or isinstance(tree, bool | int | float | str):
        return tree
    raise TypeError(f"cannot checkpoint a {type(tree).__name__} at {prefix!r}")


def join_tensors(tree: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of ``split_tensors``."""
    if isinstance(tree, dict) and "__tensor__" in tree:
        return tensors[tree["__tensor__"]]
    if isinstance(tree, dict) and "__dict__" in tree:
        return {key: join_tensors(value, tensors) for key, value in tree["__dict__"]}
    if isinstance(tree, dict):
        return {key: join_tensors(value, tensors) for key, value in tree.items()}
    if isinstance(tree, list):
        return [join_tensors(value, tensors) for value in tree]
    return tree


@dataclass
class TrainState:
    """Everything needed to continue a run exactly where it stopped: after ``epoch`` epochs."""

    epoch: int
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    scheduler: dict[str, Any] | None
    generator: torch.Tensor
    history: list[dict[str, Any]] = field(default_factory=list)
    # The objective's own modules (prediction heads, EMA teachers, DINO's center...), or None.
    objective: dict[str, torch.Tensor] | None = None


def save_state(run: RunDir, name: str, state: TrainState, config_key: str) -> None:
    tensors: dict[str, torch.Tensor] = {}
    tree = {
        "model": split_tensors(state.model, "model", tensors),
        "optimizer": split_tensors(state.optimizer, "optimizer", tensors),
        "scheduler": split_tensors(state.scheduler, "scheduler", tensors),
        "generator": split_tensors(state.generator, "generator", tensors),
        "objective": split_tensors(state.objective, "objective", tensors),
    }
    metadata = {
        "epoch": str(state.epoch),
        "config_key": config_key,
        "state": json.dumps(tree),
        "history": json.dumps(state.history),
    }
    run.save_checkpoint(name, tensors, metadata)


def load_state(run: RunDir, name: str, config_key: str) -> TrainState:
    tensors, metadata = run.load_checkpoint(name)
    found = metadata.get("config_key")
    if found != config_key:
        raise ValueError(
            f"checkpoint {run.checkpoint_path(name)} belongs to config {found!r}, "
            f"not {config_key!r}: refusing to resume from it"
        )
    tree = join_tensors(json.loads(metadata["state"]), tensors)
    return TrainState(
        epoch=int(metadata["epoch"]),
        model=tree["model"],
        optimizer=tree["optimizer"],
        scheduler=tree["scheduler"],
        generator=tree["generator"],
        history=json.loads(metadata["history"]),
        objective=tree.get("objective"),  # absent from checkpoints of older versions
    )
