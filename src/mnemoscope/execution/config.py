"""The ``execution:`` section of a config: where the runs of a study train.

It never changes a result (a run trains to the same weights wherever it runs, given the same
thread count), so it is no part of any run key; ``mnemoscope run`` options override it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from mnemoscope.strict import StrictModel


class ExecutionConfig(StrictModel):
    backend: Literal["local", "processes", "ray", "slurm"] = Field(
        "local",
        description="local: in this process, one run after another; processes: N worker "
        "processes on this machine; ray: Ray tasks (mnemoscope[ray]); slurm: submitit job "
        "arrays (mnemoscope[slurm])",
    )
    workers: int = Field(2, ge=1, description="processes: worker processes")
    threads_per_run: int | None = Field(
        None, ge=1, description="torch threads of each run on a worker; None = cores / workers "
        "(processes), cpus_per_run (ray, slurm)",
    )  # fmt: skip
    retries: int = Field(
        2, ge=0, description="times a run whose worker died is started again (it resumes)"
    )
    address: str | None = Field(
        None, description="ray: 'auto' (a running cluster), 'host:port', or null = start a "
        "local instance",
    )  # fmt: skip
    cpus_per_run: float = Field(1.0, gt=0, description="ray, slurm: CPUs of each run")
    gpus_per_run: float = Field(
        0.0, ge=0, description="ray: GPUs of each run (fractions share one); slurm: whole GPUs"
    )
    partition: str | None = Field(None, description="slurm: partition (null = the default)")
    time_min: int = Field(240, ge=1, description="slurm: time limit of each job, minutes")
    max_parallel: int = Field(32, ge=1, description="slurm: array jobs running at once")
    cluster: Literal["slurm", "local"] = Field(
        "slurm", description="slurm: submitit's cluster; local runs the array as local "
        "processes (to try a config without a cluster)",
    )  # fmt: skip

    @model_validator(mode="after")
    def _whole_gpus_on_slurm(self) -> ExecutionConfig:
        if self.backend == "slurm" and self.gpus_per_run != int(self.gpus_per_run):
            raise ValueError(
                f"gpus_per_run {self.gpus_per_run:g}: SLURM allocates whole GPUs; fractions "
                "are for ray"
            )
        return self
