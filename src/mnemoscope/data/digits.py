"""scikit-learn's bundled 8x8 handwritten digits (1,797 images, 10 classes, always offline).

The original has 17 grey levels (0..16); they are scaled to uint8 0..255 so the images look
like every other dataset here. It has no official test split, so the last ``test_fraction``
of each class (in the original order, rounded down) is the test set: no randomness, the same
split on every machine. ids are indices into ``load_digits()``, shared by both splits.
"""

from __future__ import annotations

import numpy as np
import torch

from mnemoscope.data.imageset import DatasetBundle, ImageSet

CLASSES: tuple[str, ...] = tuple(str(d) for d in range(10))
MAX_LEVEL = 16


def tail_per_class(labels: np.ndarray, fraction: float) -> np.ndarray:
    """Boolean mask of the last ``floor(fraction * n_c)`` examples of each class."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"test_fraction must be in [0, 1), got {fraction}")
    mask = np.zeros(labels.shape[0], dtype=bool)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        n_test = int(np.floor(fraction * members.size))
        if n_test:
            mask[members[-n_test:]] = True
    return mask


def load_digits(test_fraction: float = 0.2) -> DatasetBundle:
    """sklearn digits as 1x8x8 uint8 images; test = last ``test_fraction`` of each class."""
    # Imported here: scikit-learn takes about a second to import, paid only when digits is used.
    from sklearn.datasets import load_digits as sklearn_load_digits

    raw = sklearn_load_digits()
    levels = raw.images  # float64 [N, 8, 8] holding integers 0..16
    images = np.rint(levels * (255.0 / MAX_LEVEL)).astype(np.uint8)
    labels = raw.target.astype(np.int64)
    is_test = tail_per_class(labels, test_fraction)

    def split(mask: np.ndarray) -> ImageSet:
        ids = np.flatnonzero(mask)
        return ImageSet(
            images=torch.from_numpy(images[ids]).unsqueeze(1),
            labels=torch.from_numpy(labels[ids]),
            ids=torch.from_numpy(ids.astype(np.int64)),
        )

    return DatasetBundle(name="digits", train=split(~is_test), test=split(is_test), classes=CLASSES)
