"""The ``slurm`` backend: one submitit job array per ``train_all`` (``mnemoscope[slurm]``).

Each array task trains one spec with ``cpus_per_run`` CPUs and ``gpus_per_run`` GPUs on
``partition`` within ``time_min`` minutes, at most ``max_parallel`` at once. A task that is
preempted or reaches its time limit is requeued by submitit (``Checkpointable``) and resumes
from the run's last checkpoint. ``cluster: local`` runs the array as local processes.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from mnemoscope.execution.backends import Backend, read_probe, train_spec
from mnemoscope.execution.config import ExecutionConfig
from mnemoscope.training import RunSpec

try:  # optional: the class below only needs it when the slurm backend is used
    from submitit.helpers import Checkpointable
except ImportError:  # pragma: no cover - without the extra, Slurm() refuses with a message
    Checkpointable = object


def _submitit():
    try:
        import submitit
    except ImportError:
        raise ImportError(
            "the slurm backend needs submitit: pip install 'mnemoscope[slurm]'"
        ) from None
    return submitit


class Slurm(Backend):
    name = "slurm"

    def __init__(self, config: ExecutionConfig) -> None:
        self.config = config
        self.threads = config.threads_per_run or max(1, math.floor(config.cpus_per_run))

    def _executor(self, folder: Path):
        submitit = _submitit()
        config = self.config
        if config.cluster == "slurm" and shutil.which("sbatch") is None:
            from mnemoscope.errors import BadInput

            # nothing was submitted: the user's setup to fix (exit 2), not a failed run
            raise BadInput(
                "the slurm backend submits with sbatch, which is not on this machine's PATH: "
                "run on a SLURM login node, or set execution.cluster: local (or --backend "
                "processes) to train here"
            )
        executor = submitit.AutoExecutor(folder=folder, cluster=config.cluster)
        executor.update_parameters(
            timeout_min=config.time_min,
            cpus_per_task=max(1, math.ceil(config.cpus_per_run)),
            gpus_per_node=int(config.gpus_per_run),
            tasks_per_node=1,
            nodes=1,
        )
        if config.cluster == "slurm":
            extra = {"slurm_array_parallelism": config.max_parallel}
            if config.partition:
                extra["slurm_partition"] = config.partition
            executor.update_parameters(**extra)
        return executor

    def probe(self, path: Path) -> str | None:
        job = self._executor(path.parent / ".submitit").submit(read_probe, str(path))
        return job.result()

    def run(
        self, specs: Sequence[RunSpec], root: Path, done: Callable[[RunSpec], None], **in_process
    ) -> None:  # the in-process options (bundle, progress) do not reach a worker
        submitit = _submitit()
        executor = self._executor(root / ".submitit")
        jsons = [spec.to_json() for spec in specs]
        jobs = executor.map_array(Task(), jsons, [str(root)] * len(specs),
                                  [self.threads] * len(specs))  # fmt: skip
        spec_of = {job.job_id: spec for job, spec in zip(jobs, specs, strict=True)}
        for job in submitit.helpers.as_completed(jobs):
            job.result()  # a training error surfaces here
            done(spec_of[job.job_id])


class Task(Checkpointable):
    """An array task: ``train_spec``, which submitit requeues on preemption or timeout (the
    run then resumes from its last checkpoint)."""

    def __call__(self, spec_json: str, root: str, threads: int) -> str:
        return train_spec(spec_json, root, threads)
