"""Writers of small files in the real on-disk formats the loaders read."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from mnemoscope.data.fashion_mnist import IDX_FILES

IDX_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int16): 0x0B, np.dtype(np.float32): 0x0D}


def write_idx(path: Path, array: np.ndarray, gz: bool = False) -> Path:
    """``array`` as an IDX file: 0x0000, dtype code, ndim, big-endian dims, big-endian data."""
    header = bytes([0, 0, IDX_CODES[array.dtype], array.ndim])
    header += np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(payload))
    else:
        path.write_bytes(payload)
    return path


def write_fashion_mnist(directory: Path, n_train: int, n_test: int, gz: bool) -> dict:
    """Four IDX files of random 28x28 images; returns the arrays written, by split."""
    rng = np.random.default_rng(0)
    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    for split, n in (("train", n_train), ("test", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        images_file, labels_file = IDX_FILES[split]
        write_idx(directory / images_file, images, gz=gz)
        write_idx(directory / labels_file, labels, gz=gz)
        written[split] = (images, labels)
    return written


@pytest.fixture
def idx_writer():
    return write_idx


@pytest.fixture
def fashion_mnist_writer():
    return write_fashion_mnist
