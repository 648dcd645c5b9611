from importlib import resources

import numpy as np
import pytest
import torch

from mnemoscope import data
from mnemoscope.data import fashion_mnist
from mnemoscope.data.fashion_mnist import CLASSES, DEBIAN_DIR, MINI_RESOURCE


@pytest.mark.parametrize("gz", [False, True])
def test_fmnist_reads_idx_files(tmp_path, fashion_mnist_writer, gz):
    written = fashion_mnist_writer(tmp_path, n_train=30, n_test=12, gz=gz)
    bundle = data.load("fmnist", path=tmp_path)
    assert bundle.name == "fmnist"
    assert bundle.classes == CLASSES and bundle.classes[0] == "T-shirt/top"
    for split, image_set in (("train", bundle.train), ("test", bundle.test)):
        images, labels = written[split]
        assert image_set.images.shape == (len(images), 1, 28, 28)
        assert torch.equal(image_set.images[:, 0], torch.from_numpy(images))
        assert torch.equal(image_set.labels, torch.from_numpy(labels.astype(np.int64)))
        assert image_set.ids.tolist() == list(range(len(images)))


def test_fmnist_missing_files_say_where_and_how(tmp_path):
    with pytest.raises(FileNotFoundError) as caught:
        data.load("fmnist", path=tmp_path)
    message = str(caught.value)
    assert str(tmp_path) in message
    assert "train-images-idx3-ubyte" in message
    assert "apt-get install dataset-fashion-mnist" in message


def test_fmnist_refuses_images_and_labels_of_different_lengths(
    tmp_path, fashion_mnist_writer, idx_writer
):
    fashion_mnist_writer(tmp_path, n_train=10, n_test=5, gz=False)
    idx_writer(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(4, dtype=np.uint8))
    with pytest.raises(ValueError, match=r"expected 5 labels, got shape \(4,\)"):
        data.load("fmnist", path=tmp_path)


@pytest.fixture(scope="module")
def mini():
    return data.load("fmnist-mini")


def test_mini_shapes_and_dtypes(mini):
    assert mini.train.images.shape == (10_000, 1, 28, 28)
    assert mini.test.images.shape == (2_000, 1, 28, 28)
    assert mini.train.images.dtype == torch.uint8
    assert mini.train.labels.dtype == torch.int64 and mini.train.ids.dtype == torch.int64
    assert mini.classes == CLASSES


def test_mini_is_class_balanced(mini):
    assert torch.bincount(mini.train.labels, minlength=10).tolist() == [1000] * 10
    assert torch.bincount(mini.test.labels, minlength=10).tolist() == [200] * 10


def test_mini_ids_are_unique_indices_into_full_fashion_mnist(mini):
    for image_set, full_size in ((mini.train, 60_000), (mini.test, 10_000)):
        assert torch.unique(image_set.ids).numel() == len(image_set)
        assert int(image_set.ids.min()) >= 0 and int(image_set.ids.max()) < full_size
        # Stored in original order, so ids increase.
        assert bool((image_set.ids[1:] > image_set.ids[:-1]).all())


def test_mini_images_are_real_pictures(mini):
    # Not blank or constant: real Fashion-MNIST has a black background and bright garments.
    assert int(mini.train.images.max()) == 255 and int(mini.train.images.min()) == 0
    mean = mini.train.images.float().mean().item()
    assert 60 < mean < 90  # Fashion-MNIST's mean pixel is about 72.9


def test_mini_package_file_is_at_most_6_mb():
    resource = resources.files("mnemoscope.data").joinpath(MINI_RESOURCE)
    assert resource.is_file()
    assert len(resource.read_bytes()) <= 6 * 1024 * 1024


@pytest.mark.skipif(
    not DEBIAN_DIR.is_dir(), reason="needs Debian's dataset-fashion-mnist to compare against"
)
def test_mini_matches_full_fashion_mnist_at_its_ids(mini):
    full = data.load("fmnist")
    for part, whole in ((mini.train, full.train), (mini.test, full.test)):
        assert torch.equal(whole.images[part.ids], part.images)
        assert torch.equal(whole.labels[part.ids], part.labels)


def test_fmnist_default_path_is_the_debian_location(tmp_path, monkeypatch, fashion_mnist_writer):
    fashion_mnist_writer(tmp_path, n_train=10, n_test=4, gz=True)
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", tmp_path)
    bundle = data.load("fmnist")
    assert (len(bundle.train), len(bundle.test)) == (10, 4)
