"""Dataset names -> loader functions, and ``load``, the one entry point.

Every loader returns a raw ``DatasetBundle``; ``load`` checks the options, calls the loader
with its own options and applies the common ones (size, pad, channels, limit) afterwards.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable

from mnemoscope.data.digits import load_digits
from mnemoscope.data.fashion_mnist import load_fmnist, load_fmnist_mini
from mnemoscope.data.folder import load_folder
from mnemoscope.data.imageset import DatasetBundle
from mnemoscope.data.npz import load_npz
from mnemoscope.data.options import COMMON_OPTIONS, preprocess
from mnemoscope.data.torchvision_sets import load_cifar10, load_cifar100, load_stl10, load_svhn
from mnemoscope.errors import BadInput, BadOption

DEFAULT_DATASET = "fmnist-mini"

LOADERS: dict[str, Callable[..., DatasetBundle]] = {
    "fmnist-mini": load_fmnist_mini,
    "fmnist": load_fmnist,
    "digits": load_digits,
    "cifar10": load_cifar10,
    "cifar100": load_cifar100,
    "svhn": load_svhn,
    "stl10": load_stl10,
    "npz": load_npz,
    "folder": load_folder,
}


def names() -> tuple[str, ...]:
    """Every dataset ``load`` knows, the embedded default first."""
    return tuple(LOADERS)


def get_loader(name: str) -> Callable[..., DatasetBundle]:
    """The loader registered as ``name``; unknown names list the known ones."""
    if name in LOADERS:
        return LOADERS[name]
    close = difflib.get_close_matches(str(name), LOADERS, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"unknown dataset {name!r}.{hint} Known datasets: {', '.join(LOADERS)}")


def loader_options(name: str) -> dict[str, inspect.Parameter]:
    """The dataset-specific options of ``name`` (besides the common ones)."""
    return dict(inspect.signature(get_loader(name)).parameters)


def load(name: str, **options: object) -> DatasetBundle:
    """Load dataset ``name`` as a ``DatasetBundle`` of uint8 [N, C, H, W] images.

    Options every dataset takes: ``size`` (resize to size x size), ``pad`` (zero pixels per
    side), ``channels`` (1 or 3) and ``limit`` (first n of each split); see
    ``mnemoscope.data.options``. Dataset-specific options (``path``, ``root``,
    ``download``, ...) are the keyword arguments of its loader in ``LOADERS``.

    Raises:
        ValueError: unknown name, bad option value, or invalid data (a training split
            without images among them).
        BadOption (a TypeError and a ValueError): an option the dataset does not take, or a
            required one left out.
        FileNotFoundError: the dataset's files are not where it looked.
    """
    specific = loader_options(name)
    common = {key: options.pop(key) for key in COMMON_OPTIONS if key in options}
    unknown = sorted(set(options) - set(specific))
    if unknown:
        takes = ", ".join(list(specific) + list(COMMON_OPTIONS))
        raise BadOption(f"dataset {name!r} takes no option {', '.join(unknown)}; it takes: {takes}")
    required = [
        key
        for key, parameter in specific.items()
        if parameter.default is inspect.Parameter.empty and key not in options
    ]
    if required:
        raise BadOption(f"dataset {name!r} needs option(s) {', '.join(f'{k}=' for k in required)}")
    bundle = preprocess(get_loader(name)(**options), **common)
    if len(bundle.train) == 0:  # else every consumer fails on its own terms ("use at most 0")
        where = "".join(f" ({key}={options[key]})" for key in ("path", "root") if key in options)
        raise BadInput(
            f"dataset {name!r}{where} holds no images in its training split: nothing to train "
            "on or score; give it a dataset with training images"
        )
    return bundle
