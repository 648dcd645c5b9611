from mnemoscope import data
from mnemoscope.data import fashion_mnist


def by_name(records):
    return {record.name: record for record in records}


def test_catalog_has_a_record_per_dataset(tmp_path):
    records = data.catalog(root=tmp_path)
    assert [record.name for record in records] == list(data.names())


def test_embedded_datasets_are_available_with_exact_sizes(tmp_path):
    records = by_name(data.catalog(root=tmp_path))
    mini = records["fmnist-mini"]
    assert mini.available
    assert (mini.train_size, mini.test_size, mini.image_shape) == (10_000, 2_000, (1, 28, 28))
    assert mini.num_classes == 10 and mini.classes[9] == "Ankle boot"
    digits = records["digits"]
    assert digits.available and digits.train_size + digits.test_size == 1797


def test_torchvision_sets_report_missing_files_and_how_to_get_them(tmp_path):
    records = by_name(data.catalog(root=tmp_path))
    for name in ("cifar10", "cifar100", "svhn", "stl10"):
        assert not records[name].available
        assert records[name].location == str(tmp_path)
        assert "download=True" in records[name].note
    assert records["cifar100"].num_classes == 100
    assert records["stl10"].image_shape == (3, 96, 96)


def test_torchvision_set_with_files_present_is_available(tmp_path):
    for name in ("train_32x32.mat", "test_32x32.mat"):
        (tmp_path / name).write_bytes(b"")
    svhn = data.dataset_info("svhn", root=tmp_path)
    assert svhn.available
    assert (svhn.train_size, svhn.test_size) == (73_257, 26_032)


def test_catalog_uses_default_root_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MNEMOSCOPE_DATA", str(tmp_path))
    assert data.dataset_info("cifar10").location == str(tmp_path)


def test_fmnist_sizes_come_from_idx_headers(tmp_path, monkeypatch, fashion_mnist_writer):
    fashion_mnist_writer(tmp_path, n_train=12, n_test=5, gz=True)
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", tmp_path)
    record = data.dataset_info("fmnist")
    assert record.available
    assert (record.train_size, record.test_size, record.image_shape) == (12, 5, (1, 28, 28))


def test_fmnist_absent_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", tmp_path / "absent")
    record = data.dataset_info("fmnist")
    assert not record.available
    assert "apt-get install dataset-fashion-mnist" in record.note


def test_user_data_needs_a_path(tmp_path):
    records = by_name(data.catalog(root=tmp_path))
    for name in ("npz", "folder"):
        assert not records[name].available
        assert "path=" in records[name].note
        assert records[name].train_size is None
