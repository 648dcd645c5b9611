"""Fashion-MNIST: the full set from IDX files, and the embedded class-balanced mini subset.

``fmnist-mini`` ships inside the package (``fmnist_mini.npz``, built by
``scripts/build_fmnist_mini.py``) so every machine can run experiments and tests offline.
``fmnist`` reads the four IDX files, by default from Debian's ``dataset-fashion-mnist``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import torch
from torchvision.datasets import FashionMNIST

from mnemoscope.data.idx import IdxHeader, read_idx, read_idx_header
from mnemoscope.data.imageset import DatasetBundle, ImageSet

CLASSES: tuple[str, ...] = tuple(FashionMNIST.classes)

# Where Debian's dataset-fashion-mnist package (MIT licence) installs the IDX files.
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
INSTALL_HINT = "apt-get install dataset-fashion-mnist"

# Split -> (images file, labels file), without the optional .gz suffix.
IDX_FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

MINI_RESOURCE = "fmnist_mini.npz"
MINI_KEYS = (
    "train_images",
    "train_labels",
    "train_ids",
    "test_images",
    "test_labels",
    "test_ids",
)


def find_idx_files(path: str | Path) -> dict[str, tuple[Path, Path]]:
    """Split -> (images path, labels path) in ``path``; each may be plain or ``.gz``.

    Raises FileNotFoundError naming the directory and the first missing file.
    """
    directory = Path(path).expanduser()
    found: dict[str, tuple[Path, Path]] = {}
    for split, stems in IDX_FILES.items():
        pair = []
        for stem in stems:
            candidates = [directory / stem, directory / f"{stem}.gz"]
            existing = [c for c in candidates if c.is_file()]
            if not existing:
                raise FileNotFoundError(
                    f"Fashion-MNIST file {stem}[.gz] not found in {directory}. Install it with "
                    f"`{INSTALL_HINT}` (files go to {DEBIAN_DIR}) or pass path= to a directory "
                    "holding the four IDX files."
                )
            pair.append(existing[0])
        found[split] = (pair[0], pair[1])
    return found


def idx_headers(path: str | Path) -> dict[str, IdxHeader]:
    """Split -> header of its images file; cheap (reads a few bytes per file)."""
    return {split: read_idx_header(images) for split, (images, _) in find_idx_files(path).items()}


def _read_split(images_path: Path, labels_path: Path) -> ImageSet:
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(
            f"{images_path}: expected uint8 images [N, H, W], got {images.dtype} {images.shape}"
        )
    if labels.shape != (images.shape[0],):
        raise ValueError(
            f"{labels_path}: expected {images.shape[0]} labels, got shape {labels.shape}"
        )
    return ImageSet(
        images=torch.from_numpy(images).unsqueeze(1),
        labels=torch.from_numpy(labels.astype(np.int64)),
        ids=torch.arange(images.shape[0], dtype=torch.int64),
    )


def load_fmnist(path: str | Path | None = None) -> DatasetBundle:
    """Full Fashion-MNIST (60,000 train / 10,000 test, 1x28x28) from its IDX files.

    ``path`` is a directory with the four IDX files (plain or .gz); default: Debian's.
    """
    files = find_idx_files(DEBIAN_DIR if path is None else path)
    return DatasetBundle(
        name="fmnist",
        train=_read_split(*files["train"]),
        test=_read_split(*files["test"]),
        classes=CLASSES,
    )


def load_fmnist_mini() -> DatasetBundle:
    """The embedded subset: 1,000 train / 200 test images per class, 1x28x28.

    ids index the full Fashion-MNIST train / test splits, so results on the mini set can be
    matched to the same images in ``fmnist``.
    """
    # importlib.resources finds the file inside an installed wheel or zip as well as in a checkout.
    resource = resources.files(__package__).joinpath(MINI_RESOURCE)
    with resource.open("rb") as handle, np.load(handle, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in MINI_KEYS}

    def split(prefix: str) -> ImageSet:
        return ImageSet(
            images=torch.from_numpy(arrays[f"{prefix}_images"]).unsqueeze(1),
            labels=torch.from_numpy(arrays[f"{prefix}_labels"].astype(np.int64)),
            ids=torch.from_numpy(arrays[f"{prefix}_ids"].astype(np.int64)),
        )

    return DatasetBundle(
        name="fmnist-mini", train=split("train"), test=split("test"), classes=CLASSES
    )
