"""Build ``src/mnemoscope/data/fmnist_mini.npz``, the embedded Fashion-MNIST subset.

Draws, with a fixed seed, 1,000 train and 200 test images per class from the full
Fashion-MNIST IDX files (Debian: ``apt-get install dataset-fashion-mnist``, MIT licence) and
stores them in original order with their original indices as ids:

    python scripts/build_fmnist_mini.py --source /usr/share/datasets/fashion-mnist
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from mnemoscope.data.fashion_mnist import DEBIAN_DIR, MINI_RESOURCE, find_idx_files
from mnemoscope.data.idx import read_idx

PACKAGE_FILE = Path(__file__).resolve().parents[1] / "src" / "mnemoscope" / "data" / MINI_RESOURCE
PER_CLASS = {"train": 1000, "test": 200}
MAX_BYTES = 6 * 1024 * 1024


def balanced_indices(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """``per_class`` indices of each class, drawn without replacement, sorted ascending."""
    chosen = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if members.size < per_class:
            raise ValueError(f"class {label} has {members.size} examples, need {per_class}")
        chosen.append(rng.choice(members, size=per_class, replace=False))
    # Sorted so the stored order is the original order and ids compress well.
    return np.sort(np.concatenate(chosen))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEBIAN_DIR, help="directory of IDX files")
    parser.add_argument("--out", type=Path, default=PACKAGE_FILE, help="output .npz path")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    arrays: dict[str, np.ndarray] = {}
    for split, (images_path, labels_path) in find_idx_files(args.source).items():
        images, labels = read_idx(images_path), read_idx(labels_path)
        ids = balanced_indices(labels, PER_CLASS[split], rng)
        arrays[f"{split}_images"] = images[ids].astype(np.uint8)
        arrays[f"{split}_labels"] = labels[ids].astype(np.uint8)
        arrays[f"{split}_ids"] = ids.astype(np.int64)
        print(f"{split}: {ids.size} of {labels.size} images, {PER_CLASS[split]} per class")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({size / 1e6:.2f} MB)")
    if size > MAX_BYTES:
        raise SystemExit(f"{args.out} is {size} bytes, over the {MAX_BYTES}-byte budget")


if __name__ == "__main__":
    main()
