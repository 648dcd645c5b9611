import re

import numpy as np
import pytest
import torch

from mnemoscope import data

rng = np.random.default_rng(0)


def save(path, **arrays):
    np.savez(path, **arrays)
    return path


def grey_nchw(n: int, size: int = 6) -> np.ndarray:
    return rng.integers(0, 256, size=(n, 1, size, size), dtype=np.uint8)


def rgb_nchw(n: int, size: int = 6) -> np.ndarray:
    return rng.integers(0, 256, size=(n, 3, size, size), dtype=np.uint8)


# Each case: how the file stores [N, C, H, W] images.
LAYOUTS = {
    "NHW": (grey_nchw, lambda x: x[:, 0]),
    "NHW1": (grey_nchw, lambda x: x.transpose(0, 2, 3, 1)),
    "N1HW": (grey_nchw, lambda x: x),
    "NHW3": (rgb_nchw, lambda x: x.transpose(0, 2, 3, 1)),
    "N3HW": (rgb_nchw, lambda x: x),
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_round_trip_for_each_layout(tmp_path, layout):
    make, store = LAYOUTS[layout]
    train, test = make(5), make(3)
    path = save(
        tmp_path / "d.npz",
        train_images=store(train),
        train_labels=np.array([0, 1, 2, 1, 0]),
        test_images=store(test),
        test_labels=np.array([2, 2, 0], dtype=np.uint8),
    )
    bundle = data.load("npz", path=path)
    assert torch.equal(bundle.train.images, torch.from_numpy(train))
    assert torch.equal(bundle.test.images, torch.from_numpy(test))
    assert bundle.train.labels.tolist() == [0, 1, 2, 1, 0]
    assert bundle.test.labels.dtype == torch.int64
    assert bundle.train.ids.tolist() == [0, 1, 2, 3, 4]
    assert bundle.classes == ("0", "1", "2")


def test_ids_and_classes_are_taken_from_the_file(tmp_path):
    path = save(
        tmp_path / "d.npz",
        train_images=grey_nchw(3),
        train_labels=np.array([0, 1, 1]),
        train_ids=np.array([40, 7, 12]),
        test_images=grey_nchw(1),
        test_labels=np.array([1]),
        test_ids=np.array([3]),
        classes=np.array(["cat", "dog"]),
    )
    bundle = data.load("npz", path=path)
    assert bundle.train.ids.tolist() == [40, 7, 12]
    assert bundle.test.ids.tolist() == [3]
    assert bundle.classes == ("cat", "dog")


def test_float_images_in_unit_range_are_scaled(tmp_path):
    images = np.array([0.0, 1.0, 0.5, 0.2], dtype=np.float32).reshape(1, 1, 2, 2)
    path = save(
        tmp_path / "d.npz",
        train_images=images,
        train_labels=np.array([0]),
        test_images=images,
        test_labels=np.array([0]),
    )
    bundle = data.load("npz", path=path)
    assert bundle.train.images.dtype == torch.uint8
    assert bundle.train.images.flatten().tolist() == [0, 255, 128, 51]


def test_non_finite_values_are_refused_with_count_and_first_index(tmp_path):
    images = np.zeros((2, 4, 4), dtype=np.float64)
    images[1, 2, 3] = np.nan
    images[1, 3, 0] = np.inf
    path = save(
        tmp_path / "d.npz",
        train_images=images,
        train_labels=np.array([0, 0]),
        test_images=images[:1],
        test_labels=np.array([0]),
    )
    with pytest.raises(
        ValueError,
        match=r"train_images contain 2 non-finite values \(first at index \(1, 2, 3\): nan\)",
    ):
        data.load("npz", path=path)


def test_float_values_outside_unit_range_are_refused(tmp_path):
    images = np.full((1, 2, 2), 3.0)
    path = save(
        tmp_path / "d.npz",
        train_images=images,
        train_labels=np.array([0]),
        test_images=images,
        test_labels=np.array([0]),
    )
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\], got values in \[3.0, 3.0\]"):
        data.load("npz", path=path)


@pytest.mark.parametrize("dtype", [np.int64, np.uint16, np.bool_])
def test_non_uint8_integer_images_are_refused(tmp_path, dtype):
    images = np.zeros((1, 2, 2), dtype=dtype)
    path = save(
        tmp_path / "d.npz",
        train_images=images,
        train_labels=np.array([0]),
        test_images=images,
        test_labels=np.array([0]),
    )
    with pytest.raises(
        ValueError, match=rf"train_images must be uint8.*got dtype {np.dtype(dtype)}"
    ):
        data.load("npz", path=path)


def test_float_labels_are_refused(tmp_path):
    path = save(
        tmp_path / "d.npz",
        train_images=grey_nchw(2),
        train_labels=np.array([0.0, 1.0]),
        test_images=grey_nchw(1),
        test_labels=np.array([0]),
    )
    with pytest.raises(ValueError, match="train_labels must have an integer dtype, got float64"):
        data.load("npz", path=path)


def test_label_count_must_match_images(tmp_path):
    path = save(
        tmp_path / "d.npz",
        train_images=grey_nchw(2),
        train_labels=np.array([0]),
        test_images=grey_nchw(1),
        test_labels=np.array([0]),
    )
    with pytest.raises(ValueError, match=r"train_labels must have shape \(2,\).*got \(1,\)"):
        data.load("npz", path=path)


@pytest.mark.parametrize("shape", [(2, 5, 5, 4), (2, 4, 5, 5), (2, 5), (2, 1, 3, 3, 3)])
def test_shapes_without_a_channel_axis_are_refused(tmp_path, shape):
    images = np.zeros(shape, dtype=np.uint8)
    path = save(
        tmp_path / "d.npz",
        train_images=images,
        train_labels=np.zeros(2, dtype=int),
        test_images=images,
        test_labels=np.zeros(2, dtype=int),
    )
    with pytest.raises(ValueError, match="train_images.*" + re.escape(str(shape))):
        data.load("npz", path=path)


def test_explicit_layout_resolves_ambiguous_shapes(tmp_path):
    nhwc = rng.integers(0, 256, size=(2, 3, 5, 3), dtype=np.uint8)  # auto would read NCHW
    path = save(
        tmp_path / "d.npz",
        train_images=nhwc,
        train_labels=np.zeros(2, dtype=int),
        test_images=nhwc,
        test_labels=np.zeros(2, dtype=int),
    )
    assert data.load("npz", path=path).train.images.shape == (2, 3, 5, 3)
    bundle = data.load("npz", path=path, layout="nhwc")
    assert torch.equal(bundle.train.images, torch.from_numpy(nhwc.transpose(0, 3, 1, 2)))


def test_missing_file_error_names_the_path(tmp_path):
    path = tmp_path / "nowhere" / "d.npz"
    with pytest.raises(FileNotFoundError, match=str(path)):
        data.load("npz", path=path)


def test_missing_key_is_named(tmp_path):
    path = save(tmp_path / "d.npz", train_images=grey_nchw(1), train_labels=np.array([0]))
    with pytest.raises(ValueError, match=r"lacks key\(s\) test_images, test_labels"):
        data.load("npz", path=path)


def test_object_arrays_are_not_unpickled(tmp_path):
    path = save(
        tmp_path / "d.npz",
        train_images=grey_nchw(1),
        train_labels=np.array([0]),
        test_images=grey_nchw(1),
        test_labels=np.array([0]),
        classes=np.array(["a", None], dtype=object),
    )
    with pytest.raises(ValueError, match=r"array 'classes' holds Python objects"):
        data.load("npz", path=path)


def test_labels_beyond_given_classes_are_refused(tmp_path):
    path = save(
        tmp_path / "d.npz",
        train_images=grey_nchw(1),
        train_labels=np.array([2]),
        test_images=grey_nchw(1),
        test_labels=np.array([0]),
        classes=np.array(["a", "b"]),
    )
    with pytest.raises(ValueError, match="train label 2 is out of range for 2 classes"):
        data.load("npz", path=path)
