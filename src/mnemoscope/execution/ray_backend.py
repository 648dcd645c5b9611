"""The ``ray`` backend: one Ray core task per run (``pip install mnemoscope[ray]``).

Each task asks for ``num_cpus`` and ``num_gpus`` (fractions let runs share a GPU); a task whose
worker dies is retried ``retries`` times and resumes from the run's last checkpoint. ``address``:
``auto`` joins the cluster this machine belongs to, ``host:port`` a given one, None starts a
local Ray instance for the duration of ``train_all``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

from mnemoscope.execution.backends import Backend, read_probe, train_spec
from mnemoscope.training import RunSpec


def _ray():
    try:
        import ray
    except ImportError:
        raise ImportError("the ray backend needs Ray: pip install 'mnemoscope[ray]'") from None
    return ray


class Ray(Backend):
    name = "ray"

    def __init__(self, address: str | None = None, cpus_per_run: float = 1.0,
                 gpus_per_run: float = 0.0, retries: int = 2,
                 threads_per_run: int | None = None) -> None:  # fmt: skip
        self.address = address
        self.cpus = cpus_per_run
        self.gpus = gpus_per_run
        self.retries = retries
        self.threads = threads_per_run or max(1, math.floor(cpus_per_run))
        self._started = False

    def _connect(self):
        ray = _ray()
        if not ray.is_initialized():
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                     configure_logging=False)  # fmt: skip
            self._started = True
        return ray

    def probe(self, path: Path) -> str | None:
        ray = self._connect()
        return ray.get(ray.remote(num_cpus=0)(read_probe).remote(str(path)))

    def run(
        self, specs: Sequence[RunSpec], root: Path, done: Callable[[RunSpec], None], **in_process
    ) -> None:  # the in-process options (bundle, progress) do not reach a worker
        ray = self._connect()
        task = ray.remote(train_spec).options(num_cpus=self.cpus, num_gpus=self.gpus,
                                              max_retries=self.retries)  # fmt: skip
        pending = {task.remote(spec.to_json(), str(root), self.threads): spec for spec in specs}
        while pending:
            finished, _ = ray.wait(list(pending), num_returns=1)
            for ref in finished:
                spec = pending.pop(ref)
                ray.get(ref)  # a training error surfaces here
                done(spec)

    def close(self) -> None:
        if self._started:
            _ray().shutdown()
            self._started = False
