"""The base of every config model: unknown keys are errors and values are frozen."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    # extra="forbid": a misspelt key is an error that names it, not a silently ignored value.
    model_config = ConfigDict(extra="forbid", frozen=True)
