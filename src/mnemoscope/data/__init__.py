"""Datasets as uint8 image tensors with stable ids.

    >>> from mnemoscope import data
    >>> bundle = data.load("fmnist-mini", size=32, channels=3)
    >>> bundle.train.images.shape, bundle.num_classes
    (torch.Size([10000, 3, 32, 32]), 10)
    >>> parts = data.split(len(bundle.train), {"S_S": 0.4, "S_C": 0.4}, seed=0)

``names()`` lists the datasets, ``catalog()`` says which are on this machine. Ids are each
example's index in its original split, so the same image keeps its id across subsets, limits,
splits and runs.
"""

from mnemoscope.data.arrays import image_set_from_arrays
from mnemoscope.data.idx import read_idx
from mnemoscope.data.imageset import UNLABELED, DatasetBundle, ImageSet
from mnemoscope.data.listing import DatasetInfo, catalog, dataset_info
from mnemoscope.data.options import preprocess
from mnemoscope.data.registry import DEFAULT_DATASET, LOADERS, load, names
from mnemoscope.data.splits import split
from mnemoscope.data.torchvision_sets import default_root

__all__ = [
    "DEFAULT_DATASET",
    "LOADERS",
    "UNLABELED",
    "DatasetBundle",
    "DatasetInfo",
    "ImageSet",
    "catalog",
    "dataset_info",
    "default_root",
    "image_set_from_arrays",
    "load",
    "names",
    "preprocess",
    "read_idx",
    "split",
]
