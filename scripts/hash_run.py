"""Run a packaged config into a directory and print a content hash of everything it produced.

Used to check that a refactoring leaves training bit for bit unchanged: run every quick config
before and after, and compare the outputs (``diff``):

    python scripts/hash_run.py profiles-quick OUT_DIR --threads 1 > before.txt

Weights and measurements are hashed by their tensors (safetensors metadata holds no weights;
timing entries are left out), tables by their values without timing columns (seconds, images
per second: they differ between any two runs), arrays by their bytes. Run directories named
``<objective>-s<seed>-<key>`` are printed with the key replaced by ``KEY`` so that a change of
the run key alone does not count as a difference; so are run names inside tables; lines are
sorted, so the comparison is of the multiset of (path, hash).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from pathlib import Path

import numpy as np
import torch

TIMING = re.compile(r"(seconds|per_s|_time|elapsed|started|finished)")
RUN_KEY = re.compile(r"^(.+-s\d+)-[0-9a-f]{16}$")


def tensor_hash(path: Path) -> str:
    from safetensors.torch import load_file

    digest = hashlib.sha256()
    for name, tensor in sorted(load_file(path).items()):
        if TIMING.search(name):  # a hook's own run time, e.g. recognition/seconds
            continue
        digest.update(name.encode())
        digest.update(str(tensor.dtype).encode())
        digest.update(tensor.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def table_hash(path: Path) -> str:
    import pandas as pd

    table = pd.read_parquet(path)
    table = table[[c for c in table.columns if not TIMING.search(str(c))]]
    # run directory names in cells (e.g. a "run" column) change with the key alone
    table = table.apply(
        lambda column: column.map(
            lambda value: RUN_KEY.sub(r"\1-KEY", value) if isinstance(value, str) else value
        )
    )
    return hashlib.sha256(table.to_csv(index=False).encode()).hexdigest()


def array_hash(path: Path) -> str:
    return hashlib.sha256(np.load(path, allow_pickle=False).tobytes()).hexdigest()


def normalized(path: Path) -> str:
    return "/".join(RUN_KEY.sub(r"\1-KEY", part) for part in path.parts)


def hashes(root: Path) -> list[str]:
    lines = []
    for path in sorted(root.rglob("*")):
        if path.suffix == ".safetensors":
            digest = tensor_hash(path)
        elif path.suffix == ".parquet":
            digest = table_hash(path)
        elif path.suffix == ".npy":
            digest = array_hash(path)
        else:
            continue
        lines.append(f"{digest[:20]}  {normalized(path.relative_to(root))}")
    return sorted(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", help="packaged config name, e.g. profiles-quick, train-quick")
    parser.add_argument("out", type=Path)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--hash-only", action="store_true", help="hash OUT without running")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if not args.hash_only:
        run(args.config, args.out)
    sys.stdout.write("\n".join(hashes(args.out)) + "\n")


def run(name: str, out: Path) -> None:
    from mnemoscope import studies
    from mnemoscope.config_file import packaged_config
    from mnemoscope.training import TrainConfig, train

    raw = packaged_config(name)
    if "study" not in raw:
        train(TrainConfig.model_validate(raw), out, quiet=True)
        return
    studies.run(studies.load_config(raw), out, quiet=True)


if __name__ == "__main__":
    main()
