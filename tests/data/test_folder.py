import numpy as np
import pytest
import torch
from PIL import Image

from mnemoscope import data

rng = np.random.default_rng(0)


def write_png(path, pixels: np.ndarray) -> np.ndarray:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return pixels


def grey(size: int = 4) -> np.ndarray:
    return rng.integers(0, 256, size=(size, size), dtype=np.uint8)


def rgb(size: int = 4) -> np.ndarray:
    return rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)


def test_train_and_test_trees(tmp_path):
    written = {
        "train/cat/b.png": grey(),
        "train/cat/a.png": grey(),
        "train/dog/z.png": grey(),
        "test/dog/c.png": grey(),
        "test/cat/d.png": grey(),
    }
    for name, pixels in written.items():
        write_png(tmp_path / name, pixels)
    (tmp_path / "train" / "cat" / "notes.txt").write_text("not an image")

    bundle = data.load("folder", path=tmp_path)
    assert bundle.classes == ("cat", "dog")
    assert bundle.channels == 1
    # Sorted file order: class folders, then names.
    expected_train = [
        written["train/cat/a.png"],
        written["train/cat/b.png"],
        written["train/dog/z.png"],
    ]
    assert torch.equal(bundle.train.images[:, 0], torch.from_numpy(np.stack(expected_train)))
    assert bundle.train.labels.tolist() == [0, 0, 1]
    assert bundle.train.ids.tolist() == [0, 1, 2]
    assert torch.equal(
        bundle.test.images[:, 0],
        torch.from_numpy(np.stack([written["test/cat/d.png"], written["test/dog/c.png"]])),
    )
    assert bundle.test.labels.tolist() == [0, 1]


def test_rgb_images_are_nchw(tmp_path):
    pixels = write_png(tmp_path / "train/a/x.png", rgb())
    write_png(tmp_path / "test/a/y.png", rgb())
    bundle = data.load("folder", path=tmp_path)
    assert torch.equal(bundle.train.images[0], torch.from_numpy(pixels.transpose(2, 0, 1)))


def test_mixed_grey_and_rgb_become_rgb(tmp_path):
    grey_pixels = write_png(tmp_path / "train/a/x.png", grey())
    write_png(tmp_path / "train/a/y.png", rgb())
    write_png(tmp_path / "test/a/z.png", grey())
    bundle = data.load("folder", path=tmp_path)
    assert bundle.channels == 3
    for channel in range(3):
        assert torch.equal(bundle.train.images[0, channel], torch.from_numpy(grey_pixels))


def test_single_tree_is_split_by_seeded_stratified_fraction(tmp_path):
    for label in ("a", "b"):
        for i in range(10):
            write_png(tmp_path / label / f"{i:02d}.png", np.full((3, 3), i, dtype=np.uint8))
    bundle = data.load("folder", path=tmp_path, test_fraction=0.3, seed=1)
    again = data.load("folder", path=tmp_path, test_fraction=0.3, seed=1)
    assert len(bundle.train) == 14 and len(bundle.test) == 6
    assert torch.bincount(bundle.test.labels).tolist() == [3, 3]
    assert torch.equal(bundle.test.ids, again.test.ids)
    # ids are positions in the whole tree's sorted order: class a is 0..9, b is 10..19.
    assert sorted(bundle.train.ids.tolist() + bundle.test.ids.tolist()) == list(range(20))
    assert torch.equal(bundle.test.images[:, 0, 0, 0].long(), bundle.test.ids % 10)


def test_images_of_different_sizes_are_refused(tmp_path):
    write_png(tmp_path / "train/a/x.png", grey(4))
    write_png(tmp_path / "train/a/y.png", grey(5))
    write_png(tmp_path / "test/a/z.png", grey(4))
    with pytest.raises(ValueError, match=r"y.png is 5x5 \(WxH\) but .*x.png is 4x4"):
        data.load("folder", path=tmp_path)


def test_test_class_unknown_to_train_is_refused(tmp_path):
    write_png(tmp_path / "train/a/x.png", grey())
    write_png(tmp_path / "test/zebra/y.png", grey())
    with pytest.raises(ValueError, match="class folder.*zebra"):
        data.load("folder", path=tmp_path)


def test_missing_folder_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "absent")):
        data.load("folder", path=tmp_path / "absent")
