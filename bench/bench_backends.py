"""Many small runs on one machine: the ``processes`` backend against ``local``.

Runs the trainings of a packaged profiles config (default ``profiles-demo``: 4 paradigms x
N seeds of a small convnet) twice into fresh directories: ``local`` with 2 torch threads in
this process, then ``processes`` with 2 worker processes x 1 thread. Small batches leave a
second thread of one run idle much of the time; two single-threaded runs keep both cores busy.
Prints both wall times (training only, the same specs) and their ratio.

    python bench/bench_backends.py [--config profiles-demo] [--workers 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from mnemoscope import data
from mnemoscope.demo import packaged_config
from mnemoscope.execution import train_all
from mnemoscope.execution.processes import Processes
from mnemoscope.studies import load_config
from mnemoscope.studies.profiles.study import paradigm_specs
from mnemoscope.studies.profiles.tracking import select_images


def profiles_specs(name: str):
    config = load_config(packaged_config("profiles", name.removeprefix("profiles-")))
    bundle = data.load(config.data.name, **config.data.options)
    train_index, tracked = select_images(config.data, config.tracking, bundle)
    subset = None if config.data.train_size is None else train_index.tolist()
    specs = [spec for paradigm in config.paradigms
             for spec in paradigm_specs(config, paradigm, bundle, train_index, subset)]  # fmt: skip
    return specs, bundle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="profiles-demo")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    specs, bundle = profiles_specs(args.config)
    print(f"{args.config}: {len(specs)} runs")
    with tempfile.TemporaryDirectory() as tmp:
        torch.set_num_threads(args.workers)
        start = time.perf_counter()
        train_all(specs, Path(tmp) / "local", bundle=bundle, quiet=True)
        local = time.perf_counter() - start
        print(f"local, {args.workers} threads: {local:.1f} s")
        start = time.perf_counter()
        train_all(specs, Path(tmp) / "processes", Processes(args.workers, threads_per_run=1))
        processes = time.perf_counter() - start
        print(f"processes, {args.workers} x 1 thread: {processes:.1f} s")
    print(f"local / processes wall time: {local / processes:.2f}")


if __name__ == "__main__":
    main()
