"""CIFAR-10/100, SVHN and STL-10 read from tiny files written in each dataset's real format.

torchvision checks the md5 of the official files before reading them. The files written here
are small stand-ins in the same format, so the ``no_md5`` fixture replaces only that checksum
(``check_integrity`` in each torchvision module) by an existence check, in these tests only.
"""

import os
import pickle

import numpy as np
import pytest
import scipy.io
import torch
import torchvision.datasets.cifar
import torchvision.datasets.stl10
import torchvision.datasets.svhn

from mnemoscope import data
from mnemoscope.data.torchvision_sets import DATA_ENV_VAR

rng = np.random.default_rng(0)


def random_images(n: int, size: int) -> np.ndarray:
    """[N, 3, size, size] uint8, the layout the loaders must return."""
    return rng.integers(0, 256, size=(n, 3, size, size), dtype=np.uint8)


@pytest.fixture
def no_md5(monkeypatch):
    def exists(fpath, md5=None):
        return os.path.isfile(fpath)

    for module in (
        torchvision.datasets.cifar,
        torchvision.datasets.svhn,
        torchvision.datasets.stl10,
    ):
        monkeypatch.setattr(module, "check_integrity", exists)


def write_pickle(path, obj) -> None:
    with open(path, "wb") as handle:
        pickle.dump(obj, handle)


def cifar_rows(images: np.ndarray) -> np.ndarray:
    # One row per image: 1024 red, 1024 green, 1024 blue values, each plane row-major.
    return images.reshape(len(images), -1)


def write_cifar10(root):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    train_images, test_images = random_images(10, 32), random_images(3, 32)
    train_labels, test_labels = [int(x) for x in rng.integers(0, 10, 10)], [9, 0, 4]
    for batch in range(5):  # five training batches of two images each
        rows = slice(2 * batch, 2 * batch + 2)
        write_pickle(
            folder / f"data_batch_{batch + 1}",
            {"data": cifar_rows(train_images[rows]), "labels": train_labels[rows]},
        )
    write_pickle(folder / "test_batch", {"data": cifar_rows(test_images), "labels": test_labels})
    classes = [f"class{i}" for i in range(10)]
    write_pickle(folder / "batches.meta", {"label_names": classes})
    return (train_images, train_labels), (test_images, test_labels), tuple(classes)


def write_cifar100(root):
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    train_images, test_images = random_images(6, 32), random_images(4, 32)
    train_labels, test_labels = [0, 99, 5, 42, 7, 1], [98, 3, 0, 50]
    for name, images, labels in (
        ("train", train_images, train_labels),
        ("test", test_images, test_labels),
    ):
        coarse = [label // 5 for label in labels]
        write_pickle(
            folder / name,
            {"data": cifar_rows(images), "fine_labels": labels, "coarse_labels": coarse},
        )
    classes = [f"fine{i:02d}" for i in range(100)]
    write_pickle(folder / "meta", {"fine_label_names": classes, "coarse_label_names": ["c"] * 20})
    return (train_images, train_labels), (test_images, test_labels), tuple(classes)


def assert_split(image_set, images: np.ndarray, labels) -> None:
    assert image_set.images.dtype == torch.uint8
    assert torch.equal(image_set.images, torch.from_numpy(images))
    assert image_set.labels.tolist() == list(labels)
    assert image_set.ids.tolist() == list(range(len(images)))


@pytest.mark.parametrize(
    ("name", "writer"), [("cifar10", write_cifar10), ("cifar100", write_cifar100)]
)
def test_cifar_files_are_read_exactly(tmp_path, no_md5, name, writer):
    (train_images, train_labels), (test_images, test_labels), classes = writer(tmp_path)
    bundle = data.load(name, root=tmp_path)
    assert bundle.name == name
    assert bundle.classes == classes
    assert_split(bundle.train, train_images, train_labels)
    assert_split(bundle.test, test_images, test_labels)


def test_cifar_with_wrong_checksums_is_refused_with_advice(tmp_path):
    write_cifar10(tmp_path)  # no no_md5 fixture: torchvision's real md5 check runs
    with pytest.raises(RuntimeError, match=r"could not open CIFAR10.*download=True"):
        data.load("cifar10", root=tmp_path)


def test_default_root_comes_from_environment(tmp_path, no_md5, monkeypatch):
    write_cifar10(tmp_path)
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path))
    assert data.default_root() == tmp_path
    assert len(data.load("cifar10").train) == 10


@pytest.mark.parametrize("name", ["cifar10", "cifar100", "svhn", "stl10"])
def test_missing_files_say_where_and_how(tmp_path, name):
    with pytest.raises(FileNotFoundError) as caught:
        data.load(name, root=tmp_path)
    message = str(caught.value)
    assert str(tmp_path) in message and "download=True" in message


def test_svhn_mat_files_are_read_with_label_10_as_digit_0(tmp_path, no_md5):
    expected = {}
    for split, labels in (("train", [10, 1, 5, 10, 9]), ("test", [3, 10, 2])):
        images = random_images(len(labels), 32)
        # The .mat files hold X as [H, W, C, N] and y as [N, 1] with 10 standing for digit 0.
        scipy.io.savemat(
            tmp_path / f"{split}_32x32.mat",
            {"X": images.transpose(2, 3, 1, 0), "y": np.array(labels, dtype=np.uint8)[:, None]},
        )
        expected[split] = (images, [label % 10 for label in labels])
    bundle = data.load("svhn", root=tmp_path)
    assert bundle.classes == tuple("0123456789")
    assert_split(bundle.train, *expected["train"])
    assert_split(bundle.test, *expected["test"])
    assert bundle.train.labels.tolist() == [0, 1, 5, 0, 9]


def write_stl10(root):
    folder = root / "stl10_binary"
    folder.mkdir(parents=True)

    def write_images(name, images):
        # Each image is stored channel by channel in column-major order: [C, W, H] bytes.
        (folder / name).write_bytes(np.ascontiguousarray(images.transpose(0, 1, 3, 2)).tobytes())

    train_images, test_images, unlabeled_images = (
        random_images(4, 96),
        random_images(3, 96),
        random_images(2, 96),
    )
    train_labels, test_labels = [0, 9, 3, 3], [1, 0, 8]
    write_images("train_X.bin", train_images)
    write_images("test_X.bin", test_images)
    write_images("unlabeled_X.bin", unlabeled_images)
    # Label files hold 1..10.
    (folder / "train_y.bin").write_bytes(bytes(label + 1 for label in train_labels))
    (folder / "test_y.bin").write_bytes(bytes(label + 1 for label in test_labels))
    classes = ["airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"]
    (folder / "class_names.txt").write_text("\n".join(classes) + "\n")
    return (
        (train_images, train_labels),
        (test_images, test_labels),
        unlabeled_images,
        tuple(classes),
    )


def test_stl10_binary_files_are_read_exactly(tmp_path, no_md5):
    (train_images, train_labels), (test_images, test_labels), _, classes = write_stl10(tmp_path)
    bundle = data.load("stl10", root=tmp_path)
    assert bundle.classes == classes
    assert bundle.image_size == (96, 96)
    assert_split(bundle.train, train_images, train_labels)
    assert_split(bundle.test, test_images, test_labels)


def test_stl10_unlabeled_images_follow_train_with_label_minus_one(tmp_path, no_md5):
    (train_images, train_labels), _, unlabeled_images, _ = write_stl10(tmp_path)
    bundle = data.load("stl10", root=tmp_path, unlabeled=True)
    assert_split(
        bundle.train,
        np.concatenate([train_images, unlabeled_images]),
        train_labels + [data.UNLABELED] * len(unlabeled_images),
    )
