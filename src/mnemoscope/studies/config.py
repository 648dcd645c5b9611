"""What every study config has: its study's name, its dataset, where its runs train, and its
repeats; and the shape of a study's training.

Each study's ``Config`` subclasses ``StudyConfig`` and narrows ``study`` to its own name (a
``Literal``), so ``studies.load_config`` picks the class by that key. The dataset is ``data``
(a ``DataSpec``) in every study config; a study that trains gives its training as ``train``, a
``StudyTrain``: a ``TrainConfig`` without a dataset, since the study's ``data`` is every run's
and the study chooses the images each run trains on (``StudyTrain.run_config``).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

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


class StudyConfig(StrictModel):
    """The fields every study config shares (each study's fields follow them)."""

    study: str
    execution: ExecutionConfig = Field(
        default_factory=ExecutionConfig,
        description="where the runs train (local, processes, ray, slurm); never changes results",
    )
    repeat: RepeatSpec | None = Field(None, description=REPEAT_HELP)

    def describe(self) -> str:
        """One line of the run's sizes (dataset, model, seeds, epochs) for the report."""
        raise NotImplementedError(f"{type(self).__name__} does not describe its sizes")
