"""Reader for the IDX format of (Fashion-)MNIST, plain or gzipped.

Layout (big-endian): two zero bytes, one dtype code byte, one byte with the number of
dimensions, then one uint32 per dimension, then the data in C order.
See http://yann.lecun.com/exdb/mnist/ ("THE IDX FILE FORMAT").
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

# IDX dtype code -> big-endian numpy dtype.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class IdxHeader:
    dtype: np.dtype
    shape: tuple[int, ...]

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    @property
    def size(self) -> int:
        """Header length in bytes (4 magic bytes + 4 per dimension)."""
        return 4 + 4 * len(self.shape)


def _open(path: Path) -> BinaryIO:
    # Decide on content, not on the file name: a .gz renamed away still works.
    with open(path, "rb") as probe:
        gzipped = probe.read(2) == GZIP_MAGIC
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


def _parse_header(stream: BinaryIO, path: Path) -> IdxHeader:
    magic = stream.read(4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in IDX_DTYPES:
        raise ValueError(
            f"{path} is not an IDX file: magic number is {magic.hex() or '(empty)'}, expected "
            f"0000<dtype><ndim> with dtype one of {', '.join(f'{c:02x}' for c in IDX_DTYPES)}"
        )
    ndim = magic[3]
    dims = stream.read(4 * ndim)
    if len(dims) != 4 * ndim:
        raise ValueError(f"{path}: IDX header declares {ndim} dimensions but the file ends early")
    shape = tuple(int(d) for d in np.frombuffer(dims, dtype=">u4"))
    return IdxHeader(IDX_DTYPES[magic[2]], shape)


def read_idx_header(path: str | Path) -> IdxHeader:
    """Dtype and shape of an IDX file, reading only its first bytes."""
    path = Path(path)
    with _open(path) as stream:
        return _parse_header(stream, path)


def read_idx(path: str | Path) -> np.ndarray:
    """The array stored in an IDX file, in native byte order."""
    path = Path(path)
    with _open(path) as stream:
        header = _parse_header(stream, path)
        payload = stream.read()
    if len(payload) != header.nbytes:
        raise ValueError(
            f"{path}: header says shape {header.shape} of {header.dtype.name} "
            f"({header.nbytes} bytes) but {len(payload)} bytes of data follow"
        )
    array = np.frombuffer(payload, dtype=header.dtype).reshape(header.shape)
    return array.astype(header.dtype.newbyteorder("="))
