"""What every study config has: its study's name, its dataset, where its runs train, and its
repeats; the shape of a study's training; and the one rule of configs from earlier versions.

Each study's ``Config`` subclasses ``StudyConfig`` and narrows ``study`` to its own name (a
``Literal``), so ``studies.load_config`` picks the class by that key. The dataset is ``data``
(a ``DataSpec``) in every study config; a study that trains gives its training as ``train``, a
``StudyTrain``: a ``TrainConfig`` without a dataset, since the study's ``data`` is every run's
and the study chooses the images each run trains on (``StudyTrain.run_config``). Every list of
seeds is named ``seeds``; a count is never named so.

A study nested in another (the ranking SSLMem study of ``sslmem-removal`` and of
``sslmem-privacy``) takes ``OUTER_OWNED`` -- its data, its execution and its repeats -- from
the outer config, and refuses them itself with the outer key to set (``refuse_outer_owned``).

A config written for an earlier version is read in this version's shape: each study config's
``upgrade`` moves old keys to new ones, and every move is reported (``ConfigMigrated``, a
warning naming the old and the new key). README's "Configs from earlier versions" lists them.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from typing import Any

from pydantic import Field, field_validator, model_validator

from mnemoscope.execution.config import ExecutionConfig
from mnemoscope.strict import StrictModel
from mnemoscope.studies.repeat import REPEAT_HELP, RepeatSpec
from mnemoscope.training import TrainConfig


class DataSpec(StrictModel):
    """The dataset a study runs on (``mnemoscope datasets`` lists them)."""

    name: str = Field("fmnist-mini", description="dataset name (see `mnemoscope datasets`)")
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="options of mnemoscope.data.load (size, channels, path, limit...)",
    )


Size = float | int  # a fraction of the training split (float) or a count (int)


class SplitSpec(StrictModel):
    """Disjoint parts of the training split, each a fraction or a count: the base of every
    study's ``splits`` and its one set of rules (``parts`` lists a study's parts, a part drawn
    twice, like the Déjà Vu study's two halves, twice)."""

    stratify: bool = Field(True, description="keep class proportions in every part")
    seed: int = Field(0, ge=0, description="seed of the partition")

    def parts(self) -> dict[str, Size]:
        raise NotImplementedError

    @model_validator(mode="after")
    def _one_kind_of_size(self) -> SplitSpec:
        sizes = self.parts()
        kinds = {type(value) for value in sizes.values()}
        if len(kinds) > 1:
            raise ValueError(f"split sizes mix counts and fractions: {sizes}; use one kind")
        if any(value <= 0 for value in sizes.values()):
            raise ValueError(f"split sizes must be > 0: {sizes}")
        if float in kinds and sum(sizes.values()) > 1 + 1e-9:
            raise ValueError(f"split fractions sum to {sum(sizes.values()):g} > 1 of the "
                             f"training set: {sizes}")  # fmt: skip
        return self


class StudyTrain(TrainConfig):
    """A study's training: every ``TrainConfig`` field but the dataset, which is the study's
    ``data``; the study picks each run's images and seed (``run_config``)."""

    data: None = Field(None, description="set by the study: its `data`, and each run's images")

    @field_validator("data", mode="before")
    @classmethod
    def _dataset_is_the_studys(cls, value: Any) -> None:
        if value is not None:
            raise ValueError(
                f"train.data = {value!r}: a study's dataset is `data` at the top of its config "
                "(name and options); the study chooses the images each run trains on"
            )
        return None

    def run_config(self, data: DataSpec, subset: list[int] | None = None,
                   **fields: Any) -> TrainConfig:  # fmt: skip
        """The ``TrainConfig`` of one run: this training on ``data`` (``subset``: the positions
        in its training split the run trains on; None = all), with ``fields`` replaced."""
        dump = {**self.model_dump(mode="json"), **fields}
        dump["data"] = {"name": data.name, "options": data.options, "subset": subset}
        return TrainConfig.model_validate(dump)


class ConfigMigrated(UserWarning):
    """A config of an earlier version was read in this version's shape; the message names each
    old key and its new one."""


def _copy(value: Any) -> Any:
    """A copy of a config's dicts and lists (the values YAML gives are immutable otherwise):
    ``upgrade`` edits it, never the caller's. Several times faster than ``copy.deepcopy`` on
    a config of a million values, which spent seconds before the first problem was found."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return copy.deepcopy(value) if not isinstance(value, str | int | float | bool | None) else value


class StudyConfig(StrictModel):
    """The fields every study config shares (each study's fields follow them)."""

    study: str
    data: DataSpec = Field(
        default_factory=DataSpec, description="the dataset every run of the study trains on"
    )
    execution: ExecutionConfig = Field(
        default_factory=ExecutionConfig,
        description="where the runs train (local, processes, ray, slurm); never changes results",
    )
    repeat: RepeatSpec | None = Field(None, description=REPEAT_HELP)

    @model_validator(mode="before")
    @classmethod
    def _from_earlier_versions(cls, raw: Any) -> Any:
        if not isinstance(raw, dict):
            return raw
        raw = _copy(raw)
        notes = cls.upgrade(raw)
        if notes:
            warnings.warn(
                f"config of an earlier version, read as this version's: {'; '.join(notes)} "
                "(write the new keys to silence this)",
                ConfigMigrated,
                stacklevel=2,
            )
        return raw

    @classmethod
    def upgrade(cls, raw: dict[str, Any]) -> list[str]:
        """Move the keys of an earlier version in ``raw`` (a copy) to this version's; return one
        note per move. A study whose config changed shape overrides it (``moved`` helps)."""
        return []

    def describe(self) -> str:
        """One line of the run's sizes (dataset, model, seeds, epochs) for the report."""
        raise NotImplementedError(f"{type(self).__name__} does not describe its sizes")


def distinct_seeds(cls: type, seeds: list[int]) -> list[int]:
    """Validator of a study's ``seeds``: a non-empty list, each seed once."""
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be a non-empty list without repeats, got {seeds}")
    return seeds


def set_by_study(*fields: str, by: str) -> Callable[[type, StudyTrain], StudyTrain]:
    """A validator of a study's ``train`` (``field_validator("train")(set_by_study(...))``):
    ``fields`` of the training are the study's to set (``by`` says how), so a config that sets
    one is refused, naming it."""

    def check(cls: type, train: StudyTrain) -> StudyTrain:
        given = [name for name in fields if getattr(train, name)]
        if given:
            names = " / ".join(f"train.{name}" for name in given)
            raise ValueError(f"{names} {'is' if len(given) == 1 else 'are'} set by the study: "
                             f"{by}")  # fmt: skip
        return train

    return check


DP_OPTIONS_HELP = ("the other options of TrainConfig.privacy: delta (null = 1/n), "
                   "max_grad_norm (1.0), accountant (rdp)")


def dp_without_epsilon(per: str) -> Callable[[type, dict[str, Any]], dict[str, Any]]:
    """A validator of the ``dp`` options of a study trained at several target ``epsilons``
    (``field_validator("dp")(dp_without_epsilon(...))``): the study sets ``epsilon`` once per
    ``per`` (a row, a pool), so ``dp`` that sets it is refused."""

    def check(cls: type, dp: dict[str, Any]) -> dict[str, Any]:
        if "epsilon" in dp:
            raise ValueError(f"dp.epsilon is set per {per} by `epsilons`: leave it out of dp")
        return dp

    return check


def refuse_nonpositive_epsilons(epsilons: list[float], example: str) -> None:
    """Target epsilons are > 0 (NaN is not); ``example`` names good ones in the message."""
    bad = [value for value in epsilons if not value > 0]
    if bad:
        raise ValueError(f"epsilons {bad} are not > 0: give target epsilons such as {example}")


OUTER_OWNED = ("data", "execution", "repeat")


def refuse_outer_owned(key: str, value: Any, outer: str) -> None:
    """The one rule of nested studies: ``key`` (one of ``OUTER_OWNED``) is the outer config's;
    a nested config at ``outer`` that sets it is refused, naming where it goes."""
    if value is not None:
        raise ValueError(
            f"{outer}.{key}: a nested study takes its {key} from the config it is nested in; "
            f"set `{key}` at the top of the config and leave {outer}.{key} out"
        )


def moved(raw: dict[str, Any], old: str, new: str) -> list[str]:
    """Move the dotted key ``old`` of ``raw`` to ``new`` (for ``StudyConfig.upgrade``); the note
    of the move, or none when ``old`` is absent or null (this version's own dumps hold
    ``train.data: null``). Both present: refused, naming both."""
    *old_parents, old_leaf = old.split(".")
    holder = _walk(raw, old_parents)
    if not isinstance(holder, dict) or holder.get(old_leaf) is None:
        return []
    *new_parents, new_leaf = new.split(".")
    target = _walk(raw, new_parents, create=True)
    if new_leaf in target:
        raise ValueError(f"both {old} (an earlier version's key) and {new} are set: keep {new}")
    target[new_leaf] = holder.pop(old_leaf)
    return [f"{old} is now {new}"]


def _walk(raw: dict[str, Any], keys: list[str], create: bool = False) -> Any:
    for key in keys:
        if create:
            raw = raw.setdefault(key, {})
        elif not isinstance(raw, dict) or key not in raw:
            return None
        else:
            raw = raw[key]
    return raw
