"""A dataset a user hands over as one ``.npz`` file.

Keys: ``train_images``, ``train_labels``, ``test_images``, ``test_labels`` (required);
``train_ids``, ``test_ids`` (default 0..N-1) and ``classes`` (an array of strings; default
"0".."K-1") are optional. Image layouts and dtypes follow ``mnemoscope.data.arrays``.
The file is read with ``allow_pickle=False``: object arrays are refused, never unpickled.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from mnemoscope.data.arrays import Layout, image_set_from_arrays
from mnemoscope.data.imageset import DatasetBundle
from mnemoscope.errors import BadInput

REQUIRED_KEYS = ("train_images", "train_labels", "test_images", "test_labels")
OPTIONAL_KEYS = ("train_ids", "test_ids", "classes")


def _read(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise FileNotFoundError(
            f"npz dataset file {path} not found; pass path= to an .npz with keys "
            f"{', '.join(REQUIRED_KEYS)}"
        )
    arrays: dict[str, np.ndarray] = {}
    try:
        archive = np.load(path, allow_pickle=False)
    except ValueError:  # numpy's advice to unpickle an unknown file is not taken here
        raise BadInput(
            f"{path} is not an .npz archive (nor a .npy array; pickles are never read); write "
            "one with numpy.savez"
        ) from None
    except (OSError, EOFError, zipfile.BadZipFile) as error:
        raise BadInput(
            f"{path} is not a readable .npz archive ({error}); write one with numpy.savez"
        ) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise BadInput(f"{path} holds a single array (.npy), not an .npz archive of named arrays")
    with archive:
        missing = [key for key in REQUIRED_KEYS if key not in archive.files]
        if missing:
            raise ValueError(
                f"{path} lacks key(s) {', '.join(missing)}; it has {', '.join(archive.files)}"
            )
        for key in REQUIRED_KEYS + OPTIONAL_KEYS:
            if key not in archive.files:
                continue
            try:
                arrays[key] = archive[key]
            except ValueError as err:  # numpy refuses object arrays without allow_pickle
                raise ValueError(
                    f"{path}: array {key!r} holds Python objects, which are not read "
                    "(allow_pickle=False); store plain numeric or string arrays"
                ) from err
            except (OSError, EOFError, zipfile.BadZipFile) as error:
                raise BadInput(
                    f"{path}: array {key!r} cannot be read ({error}): truncated or corrupt file"
                ) from None
    return arrays


def _classes(arrays: dict[str, np.ndarray], path: Path) -> tuple[str, ...]:
    if "classes" in arrays:
        classes = arrays["classes"]
        if classes.ndim != 1 or classes.dtype.kind not in "US":
            raise ValueError(
                f"{path}: 'classes' must be a 1-D array of strings, "
                f"got dtype {classes.dtype} shape {classes.shape}"
            )
        return tuple(str(c) for c in classes.astype(str))
    labels = np.concatenate([arrays["train_labels"].ravel(), arrays["test_labels"].ravel()])
    count = int(labels.max()) + 1 if labels.size else 0
    return tuple(str(i) for i in range(count))


def load_npz(path: str | Path, layout: Layout = "auto") -> DatasetBundle:
    """Train and test splits from a user's ``.npz`` file (see the module docstring)."""
    path = Path(path).expanduser()
    arrays = _read(path)
    splits = {
        split: image_set_from_arrays(
            arrays[f"{split}_images"],
            arrays[f"{split}_labels"],
            arrays.get(f"{split}_ids"),
            layout=layout,
            split=split,
        )
        for split in ("train", "test")
    }
    return DatasetBundle(
        name="npz", train=splits["train"], test=splits["test"], classes=_classes(arrays, path)
    )
