"""What a run records about where it ran: package versions, git commit, device, CPU model and
the instruction-set flags that change its arithmetic or speed, GPU name.

Floating-point results of the same code can differ between machines (oneDNN picks kernels by
CPU flags: AVX-512, AVX-512 BF16, AMX), and so can small-scale findings; ``meta.json`` records
enough to tell which machine a number came from."""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import os
import platform
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

RECORDED_PACKAGES = (
    "mnemoscope", "torch", "torchvision", "kornia", "lightly", "timm", "numpy", "scipy",
    "scikit-learn", "pandas", "pyarrow", "pydantic", "safetensors",
)  # fmt: skip


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in RECORDED_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


@functools.cache
def git_commit() -> dict[str, Any] | None:
    """The commit of the mnemoscope source tree, if it runs from a git checkout."""
    source = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(source), "rev-parse", "HEAD"],
            capture_output=True, text=True, check=True, timeout=10,
        ).stdout.strip()  # fmt: skip
        status = subprocess.run(
            ["git", "-C", str(source), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, check=True, timeout=10,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(status.strip())}


@contextlib.contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """torch's intra-op thread count set to ``count`` inside the block, restored after it
    (also usable as a decorator). Tiny tensors run fastest on one thread: several threads spin
    and wait on each other (10x slower on a busy 2-core machine)."""
    with _threads_block(count, adaptive=False):
        yield


# The enclosing ``torch_threads`` and ``run_threads`` blocks: (torch's count before the block,
# the count it set, whether ``run_threads`` chose it from the free cores).
_thread_blocks: list[tuple[int, int, bool]] = []


@contextlib.contextmanager
def _threads_block(count: int, adaptive: bool) -> Iterator[None]:
    before = torch.get_num_threads()
    _thread_blocks.append((before, count, adaptive))
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)
        _thread_blocks.pop()


# Whether the user fixed torch's thread count (``mnemoscope --threads``, a backend's
# ``threads_per_run``): then every training run keeps torch's count as it is; else each run
# picks its own (``run_threads``).
_threads_pinned = False


def pin_threads(count: int | None) -> None:
    """Set torch's thread count to ``count`` and keep it for every training run in this
    process; None lets each run pick its own again (``run_threads``)."""
    global _threads_pinned
    if count is not None:
        torch.set_num_threads(count)
    _threads_pinned = count is not None


def free_cores(running: int | None = None, cores: int | None = None, samples: int = 3) -> int:
    """The cores other tasks leave free right now, at least 1: ``cores`` (default: the usable
    ones) minus the tasks runnable besides this process, read as the busy warning reads them
    (``_other_runnable``; tests inject ``running``). The runnable count is a snapshot, and a
    short-lived task (a shell, a compiler) can be in it by chance: the fewest of ``samples``
    snapshots 10 ms apart count, i.e. the tasks that keep running (on an idle machine the
    first snapshot, 0, decides: no wait). The count is the whole machine's: where this process
    may use only some of its cores (a container, ``taskset``), those get their share of it.
    Off Linux (count unknown) every core is free."""
    if cores is None:
        cores = usable_cores()
    if running is None:
        for sample in range(samples):
            if sample:
                time.sleep(0.01)
            count = _other_runnable()
            if count is None:
                return cores
            running = count if running is None else min(running, count)
            if running == 0:
                break
        running = round(running * cores / max(cores, os.cpu_count() or cores))
    return max(1, cores - running)


@contextlib.contextmanager
def run_threads(recorded: int | None = None) -> Iterator[int]:
    """torch's thread count for one piece of work (a training run, a study) inside the block,
    restored after it.

    torch's present count where the user fixed it (``pin_threads``); else ``recorded`` (the
    count a resumed run started with: the same count gives the same bits); else the cores free
    as the block starts (``free_cores``), at most torch's present count (inside another such
    block: at most the count before that one, so that a run may take the cores a study found
    busy once they are free again). On a busy machine, work with more threads than free cores
    is many times slower, not fair-share slower: every OpenMP region ends at a barrier where
    all threads wait for the one the scheduler has taken off its core (bench/bench_contention.py).
    A study trains many short runs, so each one adapts to the load of its time."""
    if _threads_pinned:
        count = torch.get_num_threads()
    elif recorded is not None:
        count = recorded
    else:
        ceiling = torch.get_num_threads()
        if _thread_blocks and _thread_blocks[-1][2] and _thread_blocks[-1][1] == ceiling:
            ceiling = _thread_blocks[-1][0]  # the enclosing block's choice, not a limit
        count = min(ceiling, free_cores())
    with _threads_block(count, adaptive=recorded is None and not _threads_pinned):
        yield count


def pick_device(name: str = "auto") -> torch.device:
    """``auto`` picks cuda, then mps, then cpu; any other name is passed to torch as is."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise ValueError(
            f"unknown device {name!r}: use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'"
        ) from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but CUDA is not available here")
    return device


# CPU flags that select oneDNN / BLAS kernels (hence speed and rounding): x86 vector units,
# bf16 and AMX matrix units; ARM's SIMD, bf16 and SVE.
RELEVANT_CPU_FLAGS = (
    "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
    "avx512_bf16", "avx512_fp16", "avx_vnni", "amx_tile", "amx_bf16", "amx_int8",
    "neon", "asimd", "bf16", "sve", "sve2", "i8mm",
)  # fmt: skip


def parse_cpuinfo(text: str) -> dict[str, Any]:
    """CPU model and the ``RELEVANT_CPU_FLAGS`` it has, from the text of ``/proc/cpuinfo``
    (x86: ``model name`` / ``flags``; ARM: ``Features``, model from ``CPU part`` when unnamed)."""
    model, flags = None, set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key in ("model name", "hardware", "cpu model") and model is None and value.strip():
            model = value.strip()
        elif key in ("flags", "features") and not flags:
            flags = set(value.split())
    return {"model": model, "flags": [flag for flag in RELEVANT_CPU_FLAGS if flag in flags]}


@functools.cache
def cpu_info() -> dict[str, Any]:
    """``{"model", "flags", "source"}``: from ``/proc/cpuinfo`` on Linux; elsewhere the model
    from ``platform.processor()`` (flags unknown: empty) with ``source: platform``."""
    try:
        info = parse_cpuinfo(Path("/proc/cpuinfo").read_text())
        source = "/proc/cpuinfo"
    except OSError:
        info, source = {"model": None, "flags": []}, "platform"
    if not info["model"]:
        info["model"] = platform.processor() or platform.machine() or None
    return {**info, "source": source}


@functools.cache
def cpu_has_bf16() -> bool:
    """True when the CPU does bf16 matmuls natively (AVX-512 BF16 or AMX), where CPU autocast
    to bf16 is ~3x faster than fp32; elsewhere bf16 on CPU is emulated and slower."""
    info = cpu_info()
    if info["source"] != "/proc/cpuinfo":
        return platform.machine() == "arm64"  # Apple silicon has bf16 units
    return any(flag in info["flags"] for flag in ("avx512_bf16", "amx_bf16"))


def autocast_dtype(device: torch.device, precision: str = "auto") -> torch.dtype | None:
    """The dtype to autocast training to, or None for plain fp32.

    ``auto``: bf16 on CUDA and on CPUs with native bf16, fp32 elsewhere (mps included).
    """
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision != "auto":
        raise ValueError(f"unknown precision {precision!r}: use 'auto', 'bf16' or 'fp32'")
    if device.type == "cuda" or (device.type == "cpu" and cpu_has_bf16()):
        return torch.bfloat16
    return None


def describe(device: torch.device) -> dict[str, Any]:
    info: dict[str, Any] = {
        "device": str(device),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch_threads": torch.get_num_threads(),
        "cpu_bf16": cpu_has_bf16(),
        "cpu": cpu_info(),
        # the GPU the run used, else the first one present (None without CUDA)
        "gpu": gpu_name(device),
    }
    return info


def gpu_name(device: torch.device) -> str | None:
    """The CUDA device's name (``device``, or device 0 when running elsewhere); None without
    CUDA."""
    if not torch.cuda.is_available():
        return None
    return torch.cuda.get_device_name(device if device.type == "cuda" else 0)


def run_environment(device: torch.device) -> dict[str, Any]:
    """Everything ``meta.json`` records about the environment of a run, with the machine's load
    average (1, 5, 15 minutes) when it starts: a wall time taken on a busy machine says so."""
    load = _load_average()
    return {"versions": package_versions(), "git": git_commit(), **describe(device),
            "load_average": None if load is None else [round(v, 2) for v in load]}  # fmt: skip


def _load_average() -> tuple[float, float, float] | None:
    """The system's load average over 1, 5 and 15 minutes, or ``None`` off Unix."""
    try:
        return os.getloadavg()
    except (AttributeError, OSError):  # not available on this platform
        return None


def busy_warning(
    load: float | None = None, cores: int | None = None, running: int | None = None
) -> str | None:
    """A warning when other jobs keep every core busy now, else ``None``.

    Two signals must agree, so that a run of one's own that has just ended (its load average
    decays for minutes afterwards) does not trigger it:

    * ``load``, the load average of the last minute, is at least the number of cores this
      process may use (a full machine's worth of work, not half of it), and
    * ``running``, the tasks runnable right now besides this process (``/proc/loadavg``'s
      runnable count minus one), is at least ``max(1, cores // 2)``; where it is unknown (off
      Linux) the load average alone decides.

    Both are read from the system when ``load`` is None (tests inject them). On a busy machine
    a thread per core makes every thread wait for the slowest: small-batch work slows down many
    times. Runs pick their threads from the free cores (``run_threads``); the warning names
    ``--threads`` only where the user fixed more than one.
    """
    if load is None:
        system = _load_average()
        if system is None:
            return None
        load, running = system[0], _other_runnable()
    if cores is None:
        cores = usable_cores()
    if load < cores or (running is not None and running < max(1, cores // 2)):
        return None
    message = (
        f"this machine is busy: load average {load:.1f} over the last minute on {cores} "
        f"core{'s' if cores != 1 else ''}, so runs take longer than on an idle machine."
    )
    threads = torch.get_num_threads()
    if _threads_pinned and threads > 1:
        message += (
            f" Other jobs compete with the {threads} threads of --threads {threads}, which can "
            "make a run several times slower; without --threads each run takes the cores "
            "other jobs leave free, or try `mnemoscope --threads 1 COMMAND ...`."
        )
    return message


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity where the OS gives one (a container
    or ``taskset`` may allow fewer than the machine has), else every core."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _other_runnable() -> int | None:
    """Tasks runnable right now besides this process (``/proc/loadavg``'s 4th field, e.g.
    ``3/412``, minus one); None where there is no such file."""
    try:
        runnable = Path("/proc/loadavg").read_text().split()[3].split("/")[0]
        return max(0, int(runnable) - 1)
    except (OSError, IndexError, ValueError):
        return None
