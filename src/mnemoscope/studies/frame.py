"""One frame around every study run: ``run(study, config, out)``, and the ``Frame`` a study's
science runs in.

    claim OUT (its lock: one writer at a time; a directory another kind of command wrote is
               refused; orphan temporaries removed)
      repeat?  -> run once per study seed into OUT/study-seed-<k>/, then combine (``repeat``)
      study.run(config, frame):
          everything that can refuse the input (load the data, build the runs)
          frame.start(device)     config.yaml (COMPLETE goes), meta.json: the first write
          frame.train(specs) ...  the science; tables, arrays, figures into frame.store
          return its typed summary
      summary.json, meta.json's finished; the outputs this run did not write removed (an
      earlier config's), MANIFEST.json, COMPLETE (written last)

A study's ``run`` is only its science: the frame claims the directory, keeps the input checks
before the first write (``start`` is that write; a refused rerun leaves a finished directory as
it was), writes the same config and meta keys for every study, makes the execution backend of
``config.execution`` (and releases it), gives the progress display, and writes the summary and
the completion marker.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.progress import Progress

from mnemoscope.progress import add_task, progress_display
from mnemoscope.store import RunDir, claim, now_iso

if TYPE_CHECKING:
    import torch

    from mnemoscope import data
    from mnemoscope.execution import Backend
    from mnemoscope.studies.record import Study, StudySummary
    from mnemoscope.training import RunSpec, TrainResult


class Frame:
    """What a study's ``run`` gets: the directory it writes (``store``, after ``start``), the
    progress display, the training backend, and the device it measured on."""

    def __init__(self, study: Study, config: Any, store: RunDir, display: Progress | None,
                 quiet: bool) -> None:  # fmt: skip
        self.study, self.config, self.display, self.quiet = study, config, display, quiet
        self._store = store
        self._backend: Backend | None = None
        self._task: Any = None
        self.device: torch.device | None = None

    @property
    def store(self) -> RunDir:
        if self.device is None:
            raise RuntimeError(
                f"study {self.study.name!r} writes before frame.start(): check the input first, "
                "then start"
            )
        return self._store

    @property
    def path(self) -> Path:
        return self._store.path

    def start(self, device: str | torch.device = "auto", **meta: Any) -> RunDir:
        """The run's first write: ``config.yaml`` (which removes ``COMPLETE``) and ``meta.json``
        with the study, start time and environment of ``device`` (plus ``meta``)."""
        from mnemoscope.environment import pick_device, run_environment

        self.device = pick_device(str(device))
        self._store.write_config(self.config.model_dump(mode="json"))
        self._store.update_meta(study=self.study.name, started=now_iso(), finished=None,
                                environment=run_environment(self.device), **meta)  # fmt: skip
        return self._store

    # -- progress ------------------------------------------------------------------------------
    def steps(self, total: int, description: str | None = None) -> None:
        """Show the study's overall progress as ``total`` steps (``advance`` moves one)."""
        self._task = add_task(self.display, description or f"{self.study.name} study", total)

    def advance(self, steps: int = 1) -> None:
        if self.display is not None and self._task is not None:
            self.display.advance(self._task, steps)

    # -- training ------------------------------------------------------------------------------
    @property
    def backend(self) -> Backend:
        """The backend ``config.execution`` asks for, made on first use, released at the end."""
        if self._backend is None:
            from mnemoscope.execution import make_backend

            self._backend = make_backend(self.config.execution)
        return self._backend

    def train(
        self,
        specs: Sequence[RunSpec],
        *,
        bundle: data.DatasetBundle | None = None,
        root: str | Path | None = None,
        advance: bool = True,
    ) -> list[TrainResult]:
        """Train (or reuse) ``specs`` under ``root`` (default ``OUT/runs``) on the frame's
        backend; each finished run moves the study's progress one step when ``advance``. Its
        wall time is the study's ``training`` timing."""
        from mnemoscope.execution import train_all

        done = (lambda spec: self.advance()) if advance else None
        with self.store.timed("training"):
            return train_all(specs, Path(root) if root is not None else self.path / "runs",
                             self.backend, bundle=bundle, progress=self.display,
                             quiet=self.quiet, done=done)  # fmt: skip

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None


def run(study: Study, config: Any, out: str | Path, *, progress: Progress | None = None,
        quiet: bool = False) -> RunDir:  # fmt: skip
    """Run ``study`` with ``config`` into ``out`` (module docstring) and return its RunDir."""
    if config.execution.backend == "ray":  # an unreachable cluster: refused before any write
        from mnemoscope.execution.ray_backend import check_reachable

        check_reachable(config.execution.address)
    with claim(out, kind="study") as store, running(study, config, store, progress, quiet) as frame:
        if config.repeat is not None:
            from mnemoscope.studies.repeat import run_repeated

            summary = run_repeated(study, config, frame)
        else:
            from mnemoscope.environment import run_threads

            with run_threads():  # the cores free as it starts; each training run re-reads them
                summary = study.run(config, frame)
        finish(frame, summary)
    return store


@contextlib.contextmanager
def running(study: Study, config: Any, store: RunDir, progress: Progress | None,
            quiet: bool) -> Iterator[Frame]:  # fmt: skip
    """The frame of one study run in ``store`` (which the caller holds): progress display and
    backend for the block, released whatever happens."""
    with progress_display(progress, quiet) as display:
        frame = Frame(study, config, store, display, quiet)
        try:
            yield frame
        finally:
            frame.close()


def finish(frame: Frame, summary: StudySummary) -> None:
    """The end of every study run: its summary, the finish time, then ``COMPLETE`` (which
    removes the outputs of an earlier run that this one did not rewrite: ``store``)."""
    from mnemoscope.studies.repeat import RepeatedSummary

    expected = RepeatedSummary if frame.config.repeat is not None else frame.study.summary
    if not isinstance(summary, expected):
        raise TypeError(
            f"study {frame.study.name!r} returned a {type(summary).__name__}, not its summary "
            f"{expected.__name__}"
        )
    store = frame.store
    store.write_summary(summary.model_dump(mode="json"))
    store.update_meta(finished=now_iso())
    store.mark_complete()
