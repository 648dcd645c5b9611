"""Fixed augmentation banks: shape, reproducibility, independence of batch size and length."""

import pytest
import torch

from mnemoscope import augment
from mnemoscope.augment.banks import BLOCK
from tests.augment.helpers import make_images


@pytest.fixture(scope="module")
def images():
    return make_images(2 * BLOCK + 5, 3, 16)  # a partial last block


@pytest.fixture(scope="module")
def simclr():
    return augment.get("simclr", 16)


def test_bank_shape_dtype_and_views_differ(images, simclr):
    bank = augment.make_bank(images, simclr, views=4, seed=0)
    assert bank.shape == (len(images), 4, 3, 16, 16) and bank.dtype == torch.uint8
    assert bank.device.type == "cpu"
    assert not torch.equal(bank[0, 0], bank[0, 1])  # views of one image differ
    assert torch.unique(bank.flatten(2), dim=0).shape[0] == len(images)


def test_bank_is_reproducible_and_seed_dependent(images, simclr):
    before = torch.get_rng_state()
    a = augment.make_bank(images, simclr, views=3, seed=11)
    assert torch.equal(torch.get_rng_state(), before)
    b = augment.make_bank(images, simclr, views=3, seed=11)
    c = augment.make_bank(images, simclr, views=3, seed=12)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_bank_is_independent_of_batch_size(images, simclr):
    reference = augment.make_bank(images, simclr, views=3, seed=5, batch_size=10_000)
    for batch_size in (1, 3 * BLOCK, 3 * BLOCK * 2 + 7):
        bank = augment.make_bank(images, simclr, views=3, seed=5, batch_size=batch_size)
        assert torch.equal(bank, reference), batch_size


def test_bank_of_a_prefix_is_a_prefix_of_the_bank(images, simclr):
    full = augment.make_bank(images, simclr, views=2, seed=5)
    prefix = augment.make_bank(images[: BLOCK + 3], simclr, views=2, seed=5)
    assert torch.equal(prefix, full[: BLOCK + 3])


def test_bank_views_are_the_augmentation_quantized(images):
    """With a deterministic augmentation the bank is exactly the quantized views."""
    rotate = augment.get("rotate", 16)
    bank = augment.make_bank(images.float() / 255, rotate, views=2, seed=0)
    expected = torch.rot90(images, 1, dims=(-2, -1))
    assert (bank[:, 0].int() - expected.int()).abs().max() <= 1
    assert torch.equal(bank[:, 0], bank[:, 1])


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"views": 0, "seed": 0}, "views=0"),
        ({"views": 2, "seed": -1}, "seed=-1"),
        ({"views": 2, "seed": 0, "batch_size": 0}, "batch_size=0"),
    ],
)
def test_bank_rejects_bad_arguments(images, simclr, kwargs, named):
    with pytest.raises(ValueError, match=named):
        augment.make_bank(images, simclr, **kwargs)
