"""What every study config has: its study's name, where its runs train, and its repeats.

Each study's ``Config`` subclasses ``StudyConfig`` and narrows ``study`` to its own name (a
``Literal``), so ``studies.load_config`` picks the class by that key.
"""

from __future__ import annotations

from pydantic import Field

from mnemoscope.execution.config import ExecutionConfig
from mnemoscope.strict import StrictModel
from mnemoscope.studies.repeat import REPEAT_HELP, RepeatSpec


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
