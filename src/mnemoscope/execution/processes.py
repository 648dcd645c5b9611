"""The ``processes`` backend: N worker processes on this machine, ``threads_per_run`` torch
threads each, for many small runs (small batches keep a core busy better than N threads do).

A worker that dies (killed, out of memory) breaks the pool: the runs not yet complete are
given to a fresh pool, up to ``retries`` times, and resume from their last checkpoints.
Workers die with the main process: killed (SIGKILL, the OOM killer), it cannot stop them, so
each worker asks the kernel for SIGKILL when its parent dies (Linux ``PR_SET_PDEATHSIG``;
elsewhere a thread that watches its parent), and a run it was training resumes next time.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from mnemoscope.execution.backends import Backend, read_probe, train_spec
from mnemoscope.store import RunDir
from mnemoscope.training import RunSpec


class Processes(Backend):
    name = "processes"

    def __init__(self, workers: int = 2, threads_per_run: int | None = None, retries: int = 2):
        self.workers = workers
        self.threads = threads_per_run or max(1, (os.cpu_count() or 1) // workers)
        self.retries = retries

    def _pool(self, workers: int) -> ProcessPoolExecutor:
        # spawn: a fresh interpreter per worker (fork would copy this process's torch threads)
        context = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(workers, mp_context=context, initializer=die_with_parent,
                                   initargs=(os.getpid(),))  # fmt: skip

    def probe(self, path: Path) -> str | None:
        return read_probe(str(path))  # the workers run on this machine: its file system

    def run(
        self, specs: Sequence[RunSpec], root: Path, done: Callable[[RunSpec], None], **in_process
    ) -> None:  # the in-process options (bundle, progress) do not reach a worker
        remaining = list(specs)
        for attempt in range(self.retries + 1):
            try:
                self._run_once(remaining, root, done)
                return
            except BrokenProcessPool:
                remaining = [s for s in remaining if not RunDir(root / s.run_name).is_complete]
                if attempt == self.retries:
                    raise RuntimeError(
                        f"a worker died {self.retries + 1} times; {len(remaining)} runs are "
                        "left partial (they resume on the next run)"
                    ) from None

    def _run_once(self, specs: Sequence[RunSpec], root: Path, done) -> None:
        with self._pool(min(self.workers, len(specs))) as pool:
            futures = {pool.submit(train_spec, spec.to_json(), str(root), self.threads): spec
                       for spec in specs}  # fmt: skip
            while futures:
                finished, _ = wait(futures, return_when=FIRST_COMPLETED)
                for future in finished:
                    spec = futures.pop(future)
                    future.result()  # a training error surfaces here, naming its run
                    done(spec)


PR_SET_PDEATHSIG = 1  # linux/prctl.h
WATCH_SECONDS = 1.0


def die_with_parent(parent: int) -> None:
    """In a worker: be killed when ``parent`` (the main process) dies, whatever kills it."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
            if os.getppid() != parent:  # died before the request: nobody would send it
                os._exit(1)
            return
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_SECONDS)
    os.kill(os.getpid(), signal.SIGKILL)
