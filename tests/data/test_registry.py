import pytest

from mnemoscope import data

EXPECTED = {
    "fmnist-mini",
    "fmnist",
    "digits",
    "cifar10",
    "cifar100",
    "svhn",
    "stl10",
    "npz",
    "folder",
}


def test_names_lists_every_loader_default_first():
    assert set(data.names()) == EXPECTED
    assert data.names()[0] == data.DEFAULT_DATASET == "fmnist-mini"


def test_unknown_name_lists_known_names_and_suggests():
    with pytest.raises(ValueError) as caught:
        data.load("cifar-10")
    message = str(caught.value)
    assert "unknown dataset 'cifar-10'" in message
    assert "Did you mean 'cifar10'?" in message
    for name in EXPECTED:
        assert name in message


def test_unknown_name_without_close_match_has_no_suggestion():
    with pytest.raises(ValueError, match="Known datasets: fmnist-mini, fmnist") as caught:
        data.load("imagenet-zzz")
    assert "Did you mean" not in str(caught.value)


def test_unknown_option_names_it_and_the_accepted_ones():
    with pytest.raises(
        TypeError,
        match=r"dataset 'digits' takes no option resolution; it takes: test_fraction, size",
    ):
        data.load("digits", resolution=32)


def test_missing_required_option_is_named():
    with pytest.raises(TypeError, match=r"dataset 'npz' needs option\(s\) path="):
        data.load("npz")


def test_loaded_bundle_is_named_after_dataset():
    assert data.load("digits", limit=3).name == "digits"
