import gzip

import numpy as np
import pytest

from mnemoscope.data.idx import read_idx, read_idx_header


@pytest.mark.parametrize("gz", [False, True])
def test_round_trip_of_uint8_images(tmp_path, idx_writer, gz):
    images = np.random.default_rng(0).integers(0, 256, size=(5, 4, 3), dtype=np.uint8)
    path = idx_writer(tmp_path / "images-idx3-ubyte", images, gz=gz)
    assert path.name.endswith(".gz") == gz
    read = read_idx(path)
    assert read.dtype == np.uint8
    np.testing.assert_array_equal(read, images)


def test_multibyte_values_are_read_big_endian(tmp_path, idx_writer):
    values = np.array([[1, 256], [-2, 1000]], dtype=np.int16)
    path = idx_writer(tmp_path / "values-idx2", values)
    # The raw bytes are big-endian: 256 is 01 00.
    assert path.read_bytes()[12 + 2 : 12 + 4] == b"\x01\x00"
    read = read_idx(path)
    assert read.dtype == np.int16 and read.dtype.isnative
    np.testing.assert_array_equal(read, values)


def test_gzip_is_detected_by_content_not_name(tmp_path, idx_writer):
    labels = np.arange(7, dtype=np.uint8)
    gz_path = idx_writer(tmp_path / "labels", labels, gz=True)
    renamed = gz_path.rename(tmp_path / "labels-without-suffix")
    np.testing.assert_array_equal(read_idx(renamed), labels)


def test_header_alone_gives_shape_and_dtype(tmp_path, idx_writer):
    path = idx_writer(tmp_path / "x", np.zeros((6, 2, 3), dtype=np.float32), gz=True)
    header = read_idx_header(path)
    assert header.shape == (6, 2, 3)
    assert header.dtype == np.dtype(">f4")


@pytest.mark.parametrize("magic", [b"\x01\x00\x08\x01", b"\x00\x00\x07\x01", b"PK\x03\x04"])
def test_bad_magic_number_is_refused(tmp_path, magic):
    path = tmp_path / "bad"
    path.write_bytes(magic + b"\x00\x00\x00\x01" + b"\x05")
    with pytest.raises(ValueError, match=rf"not an IDX file: magic number is {magic.hex()}"):
        read_idx(path)


def test_bad_magic_number_inside_gzip_is_refused(tmp_path):
    path = tmp_path / "bad.gz"
    path.write_bytes(gzip.compress(b"\xff\xff\xff\xff"))
    with pytest.raises(ValueError, match="magic number is ffffffff"):
        read_idx(path)


def test_truncated_data_is_refused(tmp_path, idx_writer):
    path = idx_writer(tmp_path / "x", np.zeros((4, 4), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(ValueError, match=r"shape \(4, 4\).*16 bytes.*13 bytes"):
        read_idx(path)


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match=r"magic number is \(empty\)"):
        read_idx(path)
