"""What each dataset is and whether this machine has it, without loading the large ones.

* fmnist-mini and digits ship with the code; they are loaded (a fraction of a second).
* fmnist reads only the IDX headers at its default location (Debian's install path).
* cifar10, cifar100, svhn and stl10 check that torchvision's files exist under ``root``
  and report the official split sizes; their checksums are verified only when loading.
* npz and folder hold user data and have no default location.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mnemoscope.data import fashion_mnist, torchvision_sets
from mnemoscope.data.digits import load_digits
from mnemoscope.data.imageset import DatasetBundle
from mnemoscope.data.registry import names


@dataclass(frozen=True)
class DatasetInfo:
    """One dataset's listing.

    Attributes:
        location: where its files are (or were looked for); empty when it needs ``path=``.
        note: why it is unavailable and how to get it, or a remark about the numbers.
        image_shape: (C, H, W) before any ``size`` / ``pad`` / ``channels`` option.
    """

    name: str
    available: bool
    location: str
    note: str
    train_size: int | None
    test_size: int | None
    image_shape: tuple[int, int, int] | None
    classes: tuple[str, ...] | None

    @property
    def num_classes(self) -> int | None:
        return None if self.classes is None else len(self.classes)


def _from_bundle(bundle: DatasetBundle, location: str, note: str) -> DatasetInfo:
    return DatasetInfo(
        name=bundle.name,
        available=True,
        location=location,
        note=note,
        train_size=len(bundle.train),
        test_size=len(bundle.test),
        image_shape=tuple(bundle.train.images.shape[1:]),
        classes=bundle.classes,
    )


def _fmnist_info() -> DatasetInfo:
    location = str(fashion_mnist.DEBIAN_DIR)
    try:
        headers = fashion_mnist.idx_headers(fashion_mnist.DEBIAN_DIR)
    except (OSError, ValueError) as err:
        return DatasetInfo(
            "fmnist", False, location, str(err), 60_000, 10_000, (1, 28, 28), fashion_mnist.CLASSES
        )
    _, height, width = headers["train"].shape
    return DatasetInfo(
        name="fmnist",
        available=True,
        location=location,
        note="read from the IDX headers",
        train_size=headers["train"].shape[0],
        test_size=headers["test"].shape[0],
        image_shape=(1, height, width),
        classes=fashion_mnist.CLASSES,
    )


def _torchvision_info(name: str, root: Path) -> DatasetInfo:
    missing = torchvision_sets.missing_files(name, root)
    if missing:
        note = (
            f"{len(missing)} file(s) missing, e.g. {missing[0]}; "
            f"load('{name}', download=True) fetches them"
        )
    else:
        note = "official split sizes; checksums are verified when loading"
    official = torchvision_sets.OFFICIAL[name]
    return DatasetInfo(
        name=name,
        available=not missing,
        location=str(root),
        note=note,
        train_size=official.train_size,
        test_size=official.test_size,
        image_shape=official.image_shape,
        classes=official.classes,
    )


def _user_data_info(name: str, what: str) -> DatasetInfo:
    return DatasetInfo(name, False, "", f"user data: pass path= to {what}", None, None, None, None)


def dataset_info(name: str, root: str | Path | None = None) -> DatasetInfo:
    """The catalog record of one dataset; ``root`` is where torchvision datasets are looked for."""
    if name == "fmnist-mini":
        location = f"package resource mnemoscope/data/{fashion_mnist.MINI_RESOURCE}"
        return _from_bundle(fashion_mnist.load_fmnist_mini(), location, "embedded")
    if name == "fmnist":
        return _fmnist_info()
    if name == "digits":
        return _from_bundle(load_digits(), "scikit-learn", "bundled with scikit-learn")
    if name in torchvision_sets.OFFICIAL:
        directory = Path(root).expanduser() if root is not None else torchvision_sets.default_root()
        return _torchvision_info(name, directory)
    if name == "npz":
        return _user_data_info(name, "an .npz file")
    if name == "folder":
        return _user_data_info(name, "a directory of class folders")
    raise ValueError(f"no catalog entry for dataset {name!r}")


def catalog(root: str | Path | None = None) -> list[DatasetInfo]:
    """One ``DatasetInfo`` per registered dataset, in ``names()`` order."""
    return [dataset_info(name, root) for name in names()]
