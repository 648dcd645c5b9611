"""Déjà Vu (Meehan et al. 2023): the periphery crop, and the score on constructed encoders whose
answer is known."""

import numpy as np
import pytest
import torch
from torch import nn

from mnemoscope import models
from mnemoscope.measure.dejavu import GROUPS, central_box, dejavu, periphery_crop
from mnemoscope.measure.features import as_float_images

CLASSES, DIM = 10, 16


class LookupEncoder(nn.Module):
    """Maps each input that equals one of ``keys`` to its class prototype (plus a small
    per-key offset, so that neighbours are distinct) and every other input to a fixed random
    projection of its pixels: what a network that memorized exactly ``keys`` would do."""

    def __init__(self, keys: torch.Tensor, key_labels: torch.Tensor):
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.weight = nn.Parameter(torch.randn(keys[0].numel(), DIM, generator=generator))
        prototypes = torch.eye(CLASSES, DIM) * 10
        offsets = 0.1 * torch.randn(len(keys), DIM, generator=generator)
        self.register_buffer("keys", as_float_images(keys).flatten(1))
        self.register_buffer("values", prototypes[key_labels] + offsets)

    def features(self, x, taps):
        flat = x.flatten(1)
        # exact distances: the matmul shortcut leaves ~1e-3 between identical images
        exact = "donot_use_mm_for_euclid_dist"
        distance, nearest = torch.cdist(flat, self.keys, compute_mode=exact).min(dim=1)
        known = (distance < 1e-4)[:, None]
        return {"embedding": torch.where(known, self.values[nearest], flat @ self.weight)}


@pytest.fixture(scope="module")
def sets():
    generator = torch.Generator().manual_seed(1)

    def images(count):
        return torch.randint(0, 256, (count, 1, 12, 12), dtype=torch.uint8, generator=generator)

    labels = torch.arange(60) % CLASSES
    public_labels = torch.arange(100) % CLASSES
    return images(60), labels, images(100), public_labels


def _encoders(sets, a_keys):
    """A knows the public images and ``a_keys`` (with A's labels); B the public images only."""
    train, labels, public, public_labels = sets
    keys = torch.cat([as_float_images(public), as_float_images(a_keys)])
    a = LookupEncoder(keys, torch.cat([public_labels, labels]))
    b = LookupEncoder(public, public_labels)
    return a, b


def test_an_encoder_that_memorized_the_crops_scores_near_one(sets):
    train, labels, public, public_labels = sets
    a, b = _encoders(sets, periphery_crop(train))
    result = dejavu(a, b, train, labels, public, public_labels, k=5)
    assert result.accuracy_a == 1.0
    assert result.accuracy_b < 0.3  # chance is 1/10
    assert result.score > 0.7
    groups = result.groups()
    assert set(groups) <= set(GROUPS)
    assert (groups == "memorized").mean() == pytest.approx(result.score + result.fractions()[
        "misrepresented"])  # fmt: skip
    assert sum(result.fractions().values()) == pytest.approx(1.0)


def test_memory_of_the_centre_is_removed_by_the_crop_and_scores_zero(sets):
    """A memorized A's whole images; the crop hides their centres, so A guesses as B does."""
    train, labels, public, public_labels = sets
    a, b = _encoders(sets, train)
    result = dejavu(a, b, train, labels, public, public_labels, k=5)
    assert result.score == 0.0
    assert not (result.groups() == "memorized").any()


def test_the_same_encoder_as_a_and_b_scores_exactly_zero(sets):
    train, labels, public, public_labels = sets
    network = models.build("convnet-tiny", in_channels=1, num_outputs=CLASSES, image_size=12)
    result = dejavu(network, network, train, labels, public, public_labels, k=7)
    assert result.score == 0.0 and set(result.groups()) <= {"correlated", "unassociated"}
    batched = dejavu(network, network, train, labels, public, public_labels, k=7, batch_size=9)
    np.testing.assert_array_equal(batched.a.predicted, result.a.predicted)
    np.testing.assert_allclose(batched.a.confidence, result.a.confidence)
    assert ((result.a.confidence > 0) & (result.a.confidence <= 1)).all()


def test_the_crop_masks_exactly_the_central_box():
    images = torch.full((2, 3, 10, 8), 200, dtype=torch.uint8)
    top, left, bottom, right = central_box(10, 8, 0.5)
    assert (top, left, bottom, right) == (2, 2, 7, 6)  # h = 5, w = 4, centred
    cropped = periphery_crop(images, box=0.5, fill=0.25)
    inside = torch.zeros(10, 8, dtype=torch.bool)
    inside[top:bottom, left:right] = True
    assert (cropped[..., inside] == 0.25).all()
    assert torch.allclose(cropped[..., ~inside], torch.tensor(200 / 255))
    assert images.max() == 200  # the input is left as it was
    floats = torch.rand(1, 1, 10, 10)
    before = floats.clone()
    periphery_crop(floats)
    assert torch.equal(floats, before)


@pytest.mark.parametrize("box", [0.0, 1.0, -0.2, 0.01])
def test_a_box_outside_the_image_is_refused(box):
    with pytest.raises(ValueError, match="box"):
        periphery_crop(torch.zeros(1, 1, 10, 10), box=box)


def test_k_above_the_public_set_size_is_refused(sets):
    train, labels, public, public_labels = sets
    network = models.build("convnet-tiny", in_channels=1, num_outputs=CLASSES, image_size=12)
    with pytest.raises(ValueError, match="k = 101 is more than the 100 public images"):
        dejavu(network, network, train, labels, public, public_labels, k=101)
