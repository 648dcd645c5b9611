"""``RunSpec``: the portable unit of training, a ``TrainConfig`` plus how its data is built and
what is measured while it trains.

* ``TrainConfig``: everything that decides the weights (``training.config``).
* ``DataRecipe`` (optional): how the training images and labels are built from the dataset the
  config names (a planted set, an augmentation bank, i.i.d. groups...). Without one the run
  trains on the dataset itself (``config.data.subset`` of it).
* ``Hook``s: measurements taken at ``config.measure_at`` (see ``engine``).

Recipes and hooks are classes with plain JSON fields, not closures: each does its work
(drawing a bank, loading probe images) in whatever process runs the spec, and ``describe()``s
itself. The run key is a hash of the config and those descriptions, so a changed hook or
recipe can never silently reuse an old run; with neither, it is the config's own key. A spec
serializes to JSON and back (``to_json``, ``RunSpec.from_json``): a worker process or machine
rebuilds everything from it and the dataset files; no tensors travel.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mnemoscope.strict import StrictModel
from mnemoscope.training import privacy
from mnemoscope.training.config import TrainConfig

if TYPE_CHECKING:
    import torch
    from torch import nn

    from mnemoscope.data import DatasetBundle

# Recipes and hooks are rebuilt by importing their class: only from this package, so that a
# spec file can never make a worker import arbitrary code.
_PACKAGE = "mnemoscope."


class Part(StrictModel):
    """A recipe or hook: its fields are plain values (they are its description); whatever it
    computes from them lives in private attributes, built in the process that runs it."""

    def to_dict(self) -> dict[str, Any]:
        """Its class and fields: what rebuilds it in another process (``RunSpec.from_dict``)."""
        return {"type": type_name(type(self)), **self.model_dump(mode="json")}

    def describe(self) -> dict[str, Any]:
        """What decides its output (part of the run key): by default all of ``to_dict``; a
        part leaves out the fields that only set speed or memory."""
        return self.to_dict()


class DataRecipe(Part):
    """How the training set of a run is built from the dataset ``config.data`` names."""

    def build(self, source: DatasetBundle) -> DatasetBundle:
        """The bundle the run trains on (``config.data.subset`` indexes its training split)."""
        raise NotImplementedError

    def training_shape(self, source: DatasetBundle) -> tuple[int, tuple[int, int]]:
        """The number of training images ``build(source)`` gives and their (H, W), for ``plan``.
        The default builds the bundle; a recipe whose build is costly (augmentation banks)
        says it without building, and a test checks that it says what ``build`` gives."""
        built = self.build(source)
        return len(built.train), built.image_size


@dataclass(frozen=True)
class HookContext:
    """What a hook may read before the first measurement: the run's config, the dataset it
    names (``source``), the bundle it trains on (``source`` after the data recipe) and the
    device."""

    config: TrainConfig
    source: DatasetBundle
    bundle: DatasetBundle
    device: torch.device


class Hook(Part):
    """A measurement: ``hook(network, epoch) -> {name: array}`` at every ``measure_at`` epoch,
    the network in eval mode under ``torch.no_grad``. ``setup`` is called once per ``train``
    call, before the first measurement, in the process that trains."""

    def setup(self, context: HookContext) -> None:  # noqa: B027 - optional for subclasses
        """Build what the measurements need (banks, probe sets); the default needs nothing."""

    def __call__(self, network: nn.Module, epoch: float) -> Mapping[str, Any] | None:
        raise NotImplementedError


@dataclass(frozen=True)
class RunSpec:
    """One run: ``config`` trained on ``data`` (None: the named dataset) with ``hooks``."""

    config: TrainConfig
    data: DataRecipe | None = None
    hooks: Mapping[str, Hook] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, hook in self.hooks.items():
            if not isinstance(hook, Hook):
                raise TypeError(
                    f"hook {name!r} is a {type(hook).__name__}, not a mnemoscope Hook: write it "
                    "as a Hook subclass (fields + __call__) so that it can describe itself"
                )
        if self.data is not None and not isinstance(self.data, DataRecipe):
            raise TypeError(f"data is a {type(self.data).__name__}, not a DataRecipe")
        if self.config.measure_at and not self.hooks:
            raise ValueError("config.measure_at lists epochs but no measurement hooks were given")

    def describe(self) -> dict[str, Any]:
        """The key's input: the config's key and the descriptions of the recipe and hooks."""
        return {
            "config": self.config.key(),
            "data": None if self.data is None else self.data.describe(),
            "hooks": {name: hook.describe() for name, hook in sorted(self.hooks.items())},
        }

    def key(self) -> str:
        """A short hash of everything that decides the run's outputs."""
        if self.data is None and not self.hooks:
            return self.config.key()  # a plain config keeps its own key
        canonical = json.dumps(self.describe(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @property
    def run_name(self) -> str:
        """The run directory's name: ``<objective>-s<seed>-<key>``; ``-zero-noise`` added to a
        DP-SGD run trained under the tests' switch that drops its noise
        (``privacy.ZERO_NOISE_ENV``), so that no honest run ever reuses one, nor it them."""
        name = f"{self.config.objective.name}-s{self.config.seed}-{self.key()}"
        if self.config.privacy is not None and privacy.applied_noise_multiplier(1.0) == 0.0:
            name += "-zero-noise"
        return name

    # -- serialization -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config.model_dump(mode="json"),
            "data": None if self.data is None else self.data.to_dict(),
            "hooks": {name: hook.to_dict() for name, hook in self.hooks.items()},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> RunSpec:
        data = raw.get("data")
        return cls(
            TrainConfig.model_validate(raw["config"]),
            None if data is None else _rebuild(data, DataRecipe),
            {name: _rebuild(hook, Hook) for name, hook in (raw.get("hooks") or {}).items()},
        )

    @classmethod
    def from_json(cls, text: str) -> RunSpec:
        return cls.from_dict(json.loads(text))


def as_spec(config: TrainConfig | RunSpec, hooks: Mapping[str, Hook] | None = None) -> RunSpec:
    """``config`` as a RunSpec (a spec is returned as is; hooks then come with it)."""
    if isinstance(config, RunSpec):
        if hooks:
            raise ValueError("give hooks inside the RunSpec, not beside it")
        return config
    return RunSpec(config, hooks=dict(hooks or {}))


def type_name(kind: type) -> str:
    return f"{kind.__module__}:{kind.__qualname__}"


def _rebuild(described: Mapping[str, Any], base: type[Part]) -> Any:
    """The part that ``described`` (a ``to_dict()`` output) describes."""
    name = described.get("type")
    if not isinstance(name, str) or ":" not in name or not name.startswith(_PACKAGE):
        raise ValueError(
            f"spec part type {name!r}: expected 'mnemoscope.<module>:<Class>' (recipes and "
            "hooks are rebuilt only from mnemoscope's own classes)"
        )
    module_name, _, qualname = name.partition(":")
    kind: Any = importlib.import_module(module_name)
    for attribute in qualname.split("."):
        kind = getattr(kind, attribute, None)
    if not (isinstance(kind, type) and issubclass(kind, base)):
        raise ValueError(f"spec part type {name!r} is not a {base.__name__}")
    fields = {key: value for key, value in described.items() if key != "type"}
    return kind.model_validate(fields)
