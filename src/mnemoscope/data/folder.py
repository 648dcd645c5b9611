"""Images in one sub-folder per class, read with PIL.

Two layouts are accepted:

* ``path/train/<class>/*`` and ``path/test/<class>/*``: the folders are the splits; ids are
  positions in each split's sorted file order (class folders sorted, then file names).
* ``path/<class>/*``: one tree; ids are positions in its sorted file order, and a seeded,
  class-stratified ``test_fraction`` of it becomes the test split (``mnemoscope.data.split``).

Files are found with torchvision's ``find_classes`` / ``make_dataset`` (ImageFolder's rules and
extensions). All images must share one size. If every image is greyscale the set has one
channel, otherwise all are converted to RGB.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision.datasets.folder import IMG_EXTENSIONS, find_classes, make_dataset

from mnemoscope.data.imageset import DatasetBundle, ImageSet
from mnemoscope.data.splits import split as seeded_split
from mnemoscope.errors import BadInput

GREY_MODES = ("1", "L")


def _list_files(directory: Path, class_to_idx: dict[str, int]) -> list[tuple[str, int]]:
    samples = make_dataset(
        str(directory), class_to_idx, extensions=IMG_EXTENSIONS, allow_empty=True
    )
    if not samples:
        raise FileNotFoundError(
            f"no image files ({', '.join(IMG_EXTENSIONS)}) in the class folders of {directory}"
        )
    return samples


def _image_mode(samples: list[tuple[str, int]]) -> str:
    """PIL mode "L" if every file is greyscale, else "RGB" (opening reads only the header)."""
    for path, _ in samples:
        with _open(path) as image:
            if image.mode not in GREY_MODES:
                return "RGB"
    return "L"


@contextlib.contextmanager
def _open(path: str) -> Iterator[Image.Image]:
    """``PIL.Image.open``, with a broken or truncated file refused by name (PIL's own errors
    do not always name it)."""
    try:
        with Image.open(path) as image:
            yield image
    except (OSError, SyntaxError, ValueError) as error:  # SyntaxError: PIL's "broken PNG file"
        raise BadInput(f"{path} is not a readable image ({error}); remove or replace it") from None


def _image_set(samples: list[tuple[str, int]], mode: str) -> ImageSet:
    """The files in ``samples``, in that order, as [N, C, H, W] uint8 in PIL ``mode``."""
    arrays = []
    for path, _ in samples:
        with _open(path) as image:
            pixels = np.asarray(image.convert(mode))
        if arrays and pixels.shape != arrays[0].shape:
            raise ValueError(
                f"{path} is {pixels.shape[1]}x{pixels.shape[0]} (WxH) but {samples[0][0]} is "
                f"{arrays[0].shape[1]}x{arrays[0].shape[0]}; resize the files to one size first"
            )
        arrays.append(pixels)
    stacked = np.stack(arrays)
    images = stacked[:, None] if mode == "L" else stacked.transpose(0, 3, 1, 2)
    return ImageSet(
        images=torch.from_numpy(np.ascontiguousarray(images)),
        labels=torch.tensor([label for _, label in samples], dtype=torch.int64),
        ids=torch.arange(len(samples), dtype=torch.int64),
    )


def load_folder(path: str | Path, test_fraction: float = 0.2, seed: int = 0) -> DatasetBundle:
    """Train and test splits from class folders (see the module docstring for the layouts).

    ``test_fraction`` and ``seed`` apply only to the single-tree layout.
    """
    root = Path(path).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {root} not found; pass path= to a directory")

    train_dir, test_dir = root / "train", root / "test"
    if train_dir.is_dir():
        if not test_dir.is_dir():
            raise FileNotFoundError(f"{train_dir} exists but {test_dir} does not; add it")
        classes, class_to_idx = find_classes(train_dir)
        test_classes, _ = find_classes(test_dir)
        unknown = sorted(set(test_classes) - set(classes))
        if unknown:
            raise ValueError(
                f"{test_dir} has class folder(s) {', '.join(unknown)} missing from {train_dir}"
            )
        train_files = _list_files(train_dir, class_to_idx)
        test_files = _list_files(test_dir, class_to_idx)
        # One mode for both splits, so they share a channel count.
        mode = _image_mode(train_files + test_files)
        train, test = _image_set(train_files, mode), _image_set(test_files, mode)
    else:
        classes, class_to_idx = find_classes(root)
        files = _list_files(root, class_to_idx)
        everything = _image_set(files, _image_mode(files))
        parts = seeded_split(
            len(everything), {"test": float(test_fraction)}, seed, everything.labels
        )
        is_test = torch.zeros(len(everything), dtype=torch.bool)
        is_test[parts["test"]] = True
        train, test = everything.subset(~is_test), everything.subset(is_test)
    return DatasetBundle(name="folder", train=train, test=test, classes=tuple(classes))
