"""The build script, run on synthetic IDX files whose pixels encode their own index."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from mnemoscope.data.fashion_mnist import IDX_FILES

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "build_fmnist_mini.py"


@pytest.fixture(scope="module")
def build_script():
    spec = importlib.util.spec_from_file_location("build_fmnist_mini", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def source(tmp_path, idx_writer):
    directory = tmp_path / "source"
    directory.mkdir()
    for split, n in (("train", 10 * 1100), ("test", 10 * 250)):
        index = np.arange(n)
        # Pixel value = index mod 251 so each stored image tells which one it was.
        images = np.broadcast_to((index % 251).astype(np.uint8)[:, None, None], (n, 28, 28))
        images_file, labels_file = IDX_FILES[split]
        idx_writer(directory / images_file, np.ascontiguousarray(images), gz=True)
        idx_writer(directory / labels_file, (index % 10).astype(np.uint8), gz=True)
    return directory


def run(build_script, monkeypatch, source: Path, out: Path, seed: int = 0) -> None:
    argv = ["build_fmnist_mini.py", "--source", str(source), "--out", str(out), "--seed", str(seed)]
    monkeypatch.setattr(sys, "argv", argv)
    build_script.main()


def test_build_writes_balanced_subset_with_true_ids(build_script, monkeypatch, source, tmp_path):
    out = tmp_path / "mini.npz"
    run(build_script, monkeypatch, source, out)
    with np.load(out, allow_pickle=False) as archive:
        arrays = dict(archive)
    assert sorted(arrays) == sorted(
        f"{split}_{key}" for split in ("train", "test") for key in ("images", "labels", "ids")
    )
    for split, per_class in (("train", 1000), ("test", 200)):
        ids, labels, images = (
            arrays[f"{split}_ids"],
            arrays[f"{split}_labels"],
            arrays[f"{split}_images"],
        )
        assert images.shape == (10 * per_class, 28, 28) and images.dtype == np.uint8
        assert np.bincount(labels).tolist() == [per_class] * 10
        np.testing.assert_array_equal(labels, ids % 10)
        np.testing.assert_array_equal(images[:, 5, 5], ids % 251)
        assert np.all(np.diff(ids) > 0)


def test_build_is_byte_for_byte_reproducible_and_seeded(
    build_script, monkeypatch, source, tmp_path
):
    first, second, other = tmp_path / "a.npz", tmp_path / "b.npz", tmp_path / "c.npz"
    run(build_script, monkeypatch, source, first, seed=3)
    run(build_script, monkeypatch, source, second, seed=3)
    run(build_script, monkeypatch, source, other, seed=4)
    assert first.read_bytes() == second.read_bytes()
    with np.load(first) as a, np.load(other) as c:
        assert not np.array_equal(a["train_ids"], c["train_ids"])
