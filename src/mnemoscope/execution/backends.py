"""``train_all(specs, root, backend)`` and what every backend shares.

``train_all`` hands a backend the runs not yet trained and the run root; ``Local`` trains them
in this process, the others ship the specs' JSON to workers that call ``train_spec`` on each.
``train_all`` then reads the run directories. Before any work it checks that a worker sees
``root`` (``check_shared_storage``): a run directory on a disk only the submitting machine has
would train somewhere and never come back.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.progress import Progress

from mnemoscope import data
from mnemoscope.execution.config import ExecutionConfig
from mnemoscope.store import RunDir, atomic_write_text
from mnemoscope.training import RunSpec, TrainResult, train
from mnemoscope.training.engine import is_trained, training_subset

# Written by the submitting process under the run root, read back by a worker.
STORAGE_PROBE = ".mnemoscope-storage-check"


class StorageNotShared(RuntimeError):
    """A worker does not see the run directory the submitting process writes."""


def train_spec(spec_json: str, root: str, threads: int | None = None) -> str:
    """What a worker runs: rebuild the spec, train it (or resume, or return it finished),
    and return its run directory. Top-level, so that every backend can ship it."""
    if threads is not None:
        from mnemoscope.environment import pin_threads

        pin_threads(threads)
    return str(train(RunSpec.from_json(spec_json), root, quiet=True).run.path)


def read_probe(path: str) -> str | None:
    """A worker's view of the storage probe: its content, or None when it cannot see it."""
    try:
        return Path(path).read_text()
    except OSError:
        return None


class Backend:
    """Trains specs somewhere. ``run`` returns once every spec's run is complete (or raises),
    calling ``done(spec)`` as each one finishes; ``probe`` reads a file on a worker.

    ``bundle`` (the loaded dataset), ``progress`` (a rich display) and ``quiet`` serve training
    in this process; a backend whose workers run elsewhere loads the dataset there and shows
    no progress of its own."""

    name = "backend"

    def run(
        self,
        specs: Sequence[RunSpec],
        root: Path,
        done: Callable[[RunSpec], None],
        *,
        bundle: data.DatasetBundle | None = None,
        progress: Progress | None = None,
        quiet: bool = False,
    ) -> None:
        raise NotImplementedError

    def probe(self, path: Path) -> str | None:
        raise NotImplementedError

    def close(self) -> None:  # noqa: B027 - only backends that hold a cluster release one
        """Release what the backend started (a local Ray instance)."""


class Local(Backend):
    """In this process, one run after another (the default), with the caller's loaded dataset
    and progress display."""

    name = "local"

    def run(
        self,
        specs: Sequence[RunSpec],
        root: Path,
        done: Callable[[RunSpec], None],
        *,
        bundle: data.DatasetBundle | None = None,
        progress: Progress | None = None,
        quiet: bool = False,
    ) -> None:
        for spec in specs:
            train(spec, root, bundle=bundle, progress=progress, quiet=quiet)
            done(spec)

    def probe(self, path: Path) -> str | None:
        return read_probe(str(path))


def check_shared_storage(root: Path, backend: Backend) -> None:
    """Refuse ``root`` unless a worker of ``backend`` reads what this process writes there."""
    root.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(8)
    probe = root / f"{STORAGE_PROBE}-{token}"
    atomic_write_text(probe, token)
    try:
        seen = backend.probe(probe)
    finally:
        probe.unlink(missing_ok=True)
    if seen != token:
        raise StorageNotShared(
            f"the {backend.name} workers do not see the run directory {root} "
            f"({'no such file' if seen is None else 'another file'} at {probe} on a worker): "
            "put --out on storage every worker mounts at the same path (a shared file system), "
            "nothing was trained"
        )


def train_all(
    specs: Sequence[RunSpec],
    root: str | Path,
    backend: Backend | None = None,
    *,
    bundle: data.DatasetBundle | None = None,
    progress: Progress | None = None,
    quiet: bool = False,
    done: Callable[[RunSpec], None] | None = None,
) -> list[TrainResult]:
    """Train every spec under ``root`` with ``backend`` (default: ``Local``) and return their
    results in the order of ``specs``. Specs with one run key train once; a run that ``train``
    would return as it stands (``training.engine.is_trained``) is not handed to the backend.
    ``bundle`` (the loaded dataset) and ``progress`` serve in-process training only; with a
    ``bundle``, the subset and batch size of every spec trained on the dataset itself are
    checked before the first run starts. ``done(spec)`` is called as each run finishes (at
    once for those already trained)."""
    root = Path(root).absolute()
    backend = backend or Local()
    if bundle is not None:
        for spec in specs:
            if spec.data is None:
                training_subset(spec.config, bundle)
    unique = list({spec.run_name: spec for spec in specs}.values())
    notify = done or (lambda spec: None)
    pending = [spec for spec in unique if not is_trained(spec, root)]
    for spec in unique:
        if spec not in pending:
            notify(spec)
    if pending:
        check_shared_storage(root, backend)
        backend.run(pending, root, notify, bundle=bundle, progress=progress, quiet=quiet)
    results = []
    for spec in specs:
        run = RunDir(root / spec.run_name)
        if not run.is_complete:
            raise RuntimeError(f"the {backend.name} backend returned but run {run.path} is not "
                               "complete: see its worker's log")  # fmt: skip
        results.append(TrainResult(run, spec.config))
    return results


def make_backend(config: ExecutionConfig) -> Backend:
    """The backend an ``execution:`` section asks for."""
    if config.backend == "local":
        return Local()
    if config.backend == "processes":
        from mnemoscope.execution.processes import Processes

        return Processes(config.workers, config.threads_per_run, config.retries)
    if config.backend == "ray":
        from mnemoscope.execution.ray_backend import Ray

        return Ray(config.address, config.cpus_per_run, config.gpus_per_run, config.retries,
                   config.threads_per_run)  # fmt: skip
    from mnemoscope.execution.slurm import Slurm

    return Slurm(config)
