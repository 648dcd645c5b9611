"""Fixed rotation measurement augmentation (paper 002 table 8)."""

import pytest
import torch

from mnemoscope import augment
from tests.augment.helpers import make_images


@pytest.mark.parametrize(("degrees", "turns"), [(90, 1), (270, 3), (-90, -1), (180, 2), (360, 0)])
def test_rotation_equals_rot90(degrees, turns):
    images = make_images(8, 3, 32)
    views = augment.get("rotate", 32, degrees=degrees)(images)
    expected = torch.rot90(images.float() / 255, turns, dims=(-2, -1))
    torch.testing.assert_close(views, expected, atol=1e-5, rtol=0)


def test_default_is_90_counter_clockwise():
    image = torch.zeros(1, 1, 4, 4)
    image[..., 0, 3] = 1.0  # top-right corner
    view = augment.get("rotate", 4)(image)
    assert view[0, 0, 0, 0] == pytest.approx(1.0, abs=1e-5)  # ends top-left


def test_odd_angle_rotates_and_fills_black():
    image = torch.ones(1, 1, 32, 32)
    view = augment.get("rotate", 32, degrees=45)(image)
    assert view[0, 0, 0, 0] == 0 and view[0, 0, 16, 16] == pytest.approx(1.0)
