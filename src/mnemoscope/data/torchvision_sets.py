"""CIFAR-10, CIFAR-100, SVHN and STL-10 through ``torchvision.datasets``.

torchvision owns the on-disk formats, downloads and checksums; this module only takes the raw
arrays it has already decoded (``.data`` and ``.targets`` / ``.labels``) instead of
iterating PIL images. Files live under ``root`` in torchvision's own layout, so an existing
torchvision download is found as is. ``root`` defaults to ``$MNEMOSCOPE_DATA`` or
``~/.cache/mnemoscope``; nothing is downloaded unless ``download=True``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torchvision.datasets import CIFAR10, CIFAR100, STL10, SVHN

from mnemoscope.data.imageset import DatasetBundle, ImageSet

DATA_ENV_VAR = "MNEMOSCOPE_DATA"


def default_root() -> Path:
    """``$MNEMOSCOPE_DATA`` if set, else ``~/.cache/mnemoscope``."""
    return Path(os.environ.get(DATA_ENV_VAR) or Path.home() / ".cache" / "mnemoscope")


@dataclass(frozen=True)
class OfficialSplits:
    """What the official files hold, for listing a dataset without reading it."""

    train_size: int
    test_size: int
    image_shape: tuple[int, int, int]  # (C, H, W)
    classes: tuple[str, ...]


CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
# CIFAR-100 fine labels, in the order of the official meta file (alphabetical).
CIFAR100_CLASSES = (
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle",
    "bottle", "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle",
    "caterpillar", "cattle", "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch",
    "crab", "crocodile", "cup", "dinosaur", "dolphin", "elephant", "flatfish", "forest", "fox",
    "girl", "hamster", "house", "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard", "lion",
    "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain", "mouse", "mushroom",
    "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
    "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road",
    "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake",
    "spider", "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone",
    "television", "tiger", "tractor", "train", "trout", "tulip", "turtle", "wardrobe", "whale",
    "willow_tree", "wolf", "woman", "worm",
)  # fmt: skip
SVHN_CLASSES = tuple(str(d) for d in range(10))
STL10_CLASSES = (
    "airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck",
)  # fmt: skip

OFFICIAL: dict[str, OfficialSplits] = {
    "cifar10": OfficialSplits(50_000, 10_000, (3, 32, 32), CIFAR10_CLASSES),
    "cifar100": OfficialSplits(50_000, 10_000, (3, 32, 32), CIFAR100_CLASSES),
    "svhn": OfficialSplits(73_257, 26_032, (3, 32, 32), SVHN_CLASSES),
    "stl10": OfficialSplits(5_000, 8_000, (3, 96, 96), STL10_CLASSES),
}


def required_files(name: str, root: Path) -> list[Path]:
    """The files torchvision needs under ``root`` to open ``name`` (it also checks their md5)."""
    if name in ("cifar10", "cifar100"):
        dataset_class = CIFAR10 if name == "cifar10" else CIFAR100
        folder = root / dataset_class.base_folder
        files = [filename for filename, _ in dataset_class.train_list + dataset_class.test_list]
        return [folder / f for f in files + [dataset_class.meta["filename"]]]
    if name == "svhn":
        return [root / SVHN.split_list[split][1] for split in ("train", "test")]
    if name == "stl10":
        # torchvision verifies every file, unlabeled_X.bin included, even for the train split.
        return [root / STL10.base_folder / f for f, _ in STL10.train_list + STL10.test_list]
    raise KeyError(name)


def missing_files(name: str, root: Path) -> list[Path]:
    return [path for path in required_files(name, root) if not path.is_file()]


def _resolve(name: str, root: str | Path | None, download: bool) -> Path:
    """The root directory to hand torchvision; refuses early when files are missing."""
    root = Path(root).expanduser() if root is not None else default_root()
    missing = missing_files(name, root)
    if missing and not download:
        raise FileNotFoundError(
            f"{name}: {missing[0]} not found ({len(missing)} of the dataset's files missing under "
            f"{root}). Pass download=True to fetch it with torchvision, or point root= (or "
            f"${DATA_ENV_VAR}) at a directory holding torchvision's layout."
        )
    return root


def _open(dataset_class: type, root: Path, **kwargs: object) -> object:
    try:
        return dataset_class(root=str(root), **kwargs)
    except RuntimeError as err:
        # Files exist (checked above) but torchvision refused them: usually an md5 mismatch.
        raise RuntimeError(
            f"torchvision could not open {dataset_class.__name__} under {root}: {err}. The files "
            "are probably incomplete or corrupted; delete them and load with download=True."
        ) from err


def _image_set(images_nchw: np.ndarray, labels: object) -> ImageSet:
    labels = np.asarray(labels, dtype=np.int64)
    return ImageSet(
        images=torch.from_numpy(np.ascontiguousarray(images_nchw)),
        labels=torch.from_numpy(labels),
        ids=torch.arange(labels.shape[0], dtype=torch.int64),
    )


def _load_cifar(
    name: str, dataset_class: type, root: str | Path | None, download: bool
) -> DatasetBundle:
    directory = _resolve(name, root, download)
    # torchvision's own loader of the official CIFAR pickle batches: the only unpickling here.
    train = _open(dataset_class, directory, train=True, download=download)
    test = _open(dataset_class, directory, train=False, download=False)
    return DatasetBundle(
        name=name,
        # torchvision keeps CIFAR as [N, H, W, C].
        train=_image_set(train.data.transpose(0, 3, 1, 2), train.targets),
        test=_image_set(test.data.transpose(0, 3, 1, 2), test.targets),
        classes=tuple(train.classes),
    )


def load_cifar10(root: str | Path | None = None, download: bool = False) -> DatasetBundle:
    """CIFAR-10: 50,000 train / 10,000 test, 3x32x32, 10 classes."""
    return _load_cifar("cifar10", CIFAR10, root, download)


def load_cifar100(root: str | Path | None = None, download: bool = False) -> DatasetBundle:
    """CIFAR-100 with its 100 fine labels: 50,000 train / 10,000 test, 3x32x32."""
    return _load_cifar("cifar100", CIFAR100, root, download)


def load_svhn(root: str | Path | None = None, download: bool = False) -> DatasetBundle:
    """SVHN cropped digits: 73,257 train / 26,032 test, 3x32x32; digit 0 is label 0.

    The ``extra`` split is not included.
    """
    directory = _resolve("svhn", root, download)
    # torchvision maps the files' label 10 to digit 0 and stores data as [N, C, H, W].
    train = _open(SVHN, directory, split="train", download=download)
    test = _open(SVHN, directory, split="test", download=download)
    return DatasetBundle(
        name="svhn",
        train=_image_set(train.data, train.labels),
        test=_image_set(test.data, test.labels),
        classes=SVHN_CLASSES,
    )


def load_stl10(
    root: str | Path | None = None, download: bool = False, unlabeled: bool = False
) -> DatasetBundle:
    """STL-10 labelled splits: 5,000 train / 8,000 test, 3x96x96, 10 classes.

    With ``unlabeled=True`` the 100,000 unlabeled images are appended to train with label
    ``UNLABELED`` (-1) and ids 5,000..104,999 (torchvision's ``train+unlabeled`` order).
    """
    directory = _resolve("stl10", root, download)
    train_split = "train+unlabeled" if unlabeled else "train"
    # torchvision undoes the files' column-major layout and stores data as [N, C, H, W].
    train = _open(STL10, directory, split=train_split, download=download)
    test = _open(STL10, directory, split="test", download=False)
    # torchvision labels unlabeled images -1, the same value as UNLABELED.
    return DatasetBundle(
        name="stl10",
        train=_image_set(train.data, train.labels),
        test=_image_set(test.data, test.labels),
        # class_names.txt ships with the official archive; fall back if someone dropped it.
        classes=tuple(getattr(train, "classes", STL10_CLASSES)),
    )
