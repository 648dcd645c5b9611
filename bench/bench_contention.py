"""A study beside other jobs: wall time idle and beside 1 and 2 busy processes, against the
fair-share slowdown.

Runs a study config (default the packaged ``sslmem-quick``; ``--full``: the demo's
``sslmem-demo``, three study seeds) into fresh directories, each time in a fresh process, for
every thread and backend choice: ``default`` (each training run picks its threads from the cores
free as it starts), ``threads-N`` (``mnemoscope --threads N``), ``processes`` (one
single-threaded worker per core) and ``omp-passive`` (the default with ``OMP_WAIT_POLICY=PASSIVE``:
idle OpenMP threads sleep instead of spinning). It does so idle and beside K competing processes
(plain Python busy loops it starts and ends itself). Prints each wall time (the study's own,
imports excluded), its slowdown over the same choice idle, and that slowdown divided by the
fair-share one: ``cores / available``, where each single-threaded competitor takes a core while
one is left and beyond that every process gets an equal share (``max(cores - K, cores / (K +
1))`` available). 1.0 is a fair share; the load average before and after each run says what
else the machine did.

    python bench/bench_contention.py [--full] [--competitors 0,1,2] [--choices default,threads-1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHOICES = ("default", "threads-1", "threads-2", "processes", "omp-passive")


def fair_slowdown(cores: int, competitors: int) -> float:
    """The slowdown a fair share of ``cores`` beside ``competitors`` busy single-threaded
    processes gives a job that uses every core when idle."""
    available = max(cores - competitors, cores / (competitors + 1))
    return cores / available


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:4])
    except OSError:
        return "?"


def one_run(choice: str, config: str, out: str) -> float:
    """In a fresh process (``--one``): run the study ``config`` (a file, or the name of a
    packaged config) once with ``choice``; its wall time."""
    from mnemoscope import studies
    from mnemoscope.config_file import packaged_config, read_config
    from mnemoscope.environment import pin_threads, usable_cores

    raw = read_config(config) if Path(config).is_file() else packaged_config(config)
    if choice.startswith("threads-"):
        pin_threads(int(choice.removeprefix("threads-")))
    elif choice == "processes":
        raw["execution"] = {**raw.get("execution", {}), "backend": "processes",
                            "workers": usable_cores(), "threads_per_run": 1}  # fmt: skip
    study = studies.load_config(raw)
    start = time.perf_counter()
    studies.run(study, out, quiet=True)
    return time.perf_counter() - start


def measure(choice: str, config: str, out: Path, timeout: float) -> float | None:
    """The study's wall time with ``choice`` in a child process; None past ``timeout``."""
    env = dict(os.environ)
    if choice == "omp-passive":
        env["OMP_WAIT_POLICY"] = "PASSIVE"  # read once, when torch loads libgomp
    command = [sys.executable, __file__, "--one", choice, "--config", config, "--out",
               str(out)]  # fmt: skip
    try:
        child = subprocess.run(command, env=env, capture_output=True, text=True,
                               timeout=timeout, check=True)  # fmt: skip
    except subprocess.TimeoutExpired:
        return None
    except subprocess.CalledProcessError as error:
        raise SystemExit(f"{choice} failed:\n{error.stderr[-3000:]}") from None
    return json.loads(child.stdout.strip().splitlines()[-1])["seconds"]


def busy_loops(count: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the demo's sslmem config")
    parser.add_argument("--config", help="a study config file or packaged config name "
                        "(overrides --full)")
    parser.add_argument("--competitors", default="0,1,2")
    parser.add_argument("--choices", default=",".join(CHOICES))
    parser.add_argument("--timeout", type=float, default=900, help="seconds per run")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps({"seconds": one_run(args.one, args.config, args.out)}))
        return

    from mnemoscope.environment import usable_cores

    config = args.config or ("sslmem-demo" if args.full else "sslmem-quick")
    cores = usable_cores()
    competitors = [int(k) for k in args.competitors.split(",")]
    choices = args.choices.split(",")
    unknown = [c for c in choices if c not in CHOICES and not c.startswith("threads-")]
    if unknown:
        raise SystemExit(f"unknown choices {unknown}: use {', '.join(CHOICES)} or threads-N")
    print(f"{config}, {cores} cores, load average at the start: {load_average()}")
    times: dict[tuple[str, int], float | None] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for k in competitors:
            loops = busy_loops(k)
            try:
                time.sleep(1.0)  # the loops are running before the study starts
                for choice in choices:
                    before = load_average()
                    seconds = measure(choice, config, Path(tmp) / f"{choice}-{k}", args.timeout)
                    times[choice, k] = seconds
                    shown = f"{seconds:7.1f} s" if seconds is not None else f"> {args.timeout:g} s"
                    print(f"  {choice:>12}, {k} competing: {shown}   "
                          f"load {before} -> {load_average()}", flush=True)  # fmt: skip
            finally:
                for loop in loops:
                    loop.kill()
                    loop.wait()
    print(f"\n{'choice':>12} {'competing':>9} {'seconds':>8} {'slowdown':>8} {'fair':>5} "
          f"{'/ fair':>6} {'vs default idle':>15}")  # fmt: skip
    default_idle = times.get(("default", 0))
    for choice in choices:
        for k in competitors:
            seconds, idle = times[choice, k], times.get((choice, 0))
            fair = fair_slowdown(cores, k)
            if seconds is None or idle is None:
                print(f"{choice:>12} {k:>9} {'-' if seconds is None else f'{seconds:.1f}':>8}")
                continue
            slowdown = seconds / idle
            versus = f"{seconds / default_idle:.2f}" if default_idle else "-"
            print(f"{choice:>12} {k:>9} {seconds:8.1f} {slowdown:8.2f} {fair:5.2f} "
                  f"{slowdown / fair:6.2f} {versus:>15}")  # fmt: skip


if __name__ == "__main__":
    main()
