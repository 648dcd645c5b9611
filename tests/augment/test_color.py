"""Colour jitter and greyscale against torchvision's functional ops, sample by sample."""

import pytest
import torch
from torchvision.transforms.v2 import functional as TF

from mnemoscope import augment
from mnemoscope.augment.color import ColorJitter, RandomGrayscale
from tests.augment.helpers import make_images, seeded

TORCHVISION_OPS = (TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue)


@pytest.mark.parametrize("channels", [1, 3])
def test_jitter_is_torchvision_jitter_in_the_sampled_order(channels):
    images = torch.rand(64, channels, 16, 16, generator=seeded(0))
    stage = ColorJitter((0.4, 0.4, 0.4, 0.1), p=0.8)
    params = stage.sample(64, (channels, 16, 16), seeded(1))
    views = stage.apply(images.clone(), params)
    for i in range(64):
        expected = images[i]
        if params["apply"][i]:
            for op in params["order"][i].tolist():
                if channels == 1 and op >= 2:
                    continue  # saturation and hue are no-ops on greyscale
                expected = TORCHVISION_OPS[op](expected, params["factors"][i, op].item())
        # kornia's luma weights are 0.299/0.587/0.114, torchvision's 0.2989/0.587/0.114
        torch.testing.assert_close(views[i], expected, atol=2e-4, rtol=0)


def test_jitter_draws_are_per_sample_and_in_range():
    params = ColorJitter((0.4, 0.4, 0.4, 0.1), p=0.8).sample(2000, (3, 8, 8), seeded(0))
    factors = params["factors"]
    assert factors[:, :3].min() >= 0.6 and factors[:, :3].max() <= 1.4
    assert factors[:, 3].abs().max() <= 0.1
    assert factors.std(dim=0).min() > 0.05  # not one factor for the whole batch
    orders = {tuple(row) for row in params["order"].tolist()}
    assert len(orders) == 24  # every permutation of the four ops occurs
    assert abs(params["apply"].float().mean().item() - 0.8) < 0.04


def test_zero_strength_jitter_is_identity():
    images = torch.rand(8, 3, 8, 8, generator=seeded(0))
    views = augment.get("simclr", 8, crop_scale=(1.0, 1.0), crop_ratio=(1.0, 1.0), flip_p=0.0,
                        jitter=(0, 0, 0, 0), grey_p=0.0, blur_p=0.0)(images, seeded(0))  # fmt: skip
    torch.testing.assert_close(views, images, atol=1e-5, rtol=0)


def test_color_drop_greys_about_p_of_the_images():
    images = make_images(2000, 3, 8)
    views = augment.get("color_drop", 8)(images, seeded(0))
    grey = (views[:, 0] == views[:, 1]).all(dim=(1, 2)) & (views[:, 1] == views[:, 2]).all(
        dim=(1, 2)
    )
    assert abs(grey.float().mean().item() - 0.25) < 0.04  # 4 binomial standard deviations
    float_images = images.float() / 255
    expected = TF.rgb_to_grayscale(float_images[grey], 3)
    torch.testing.assert_close(views[grey], expected, atol=2e-4, rtol=0)  # luma 0.299 vs 0.2989
    torch.testing.assert_close(views[~grey], float_images[~grey], rtol=0, atol=0)


def test_greyscale_is_a_no_op_on_one_channel_images():
    images = make_images(16, 1, 8)
    views = augment.get("color_drop", 8, p=1.0)(images, seeded(0))
    torch.testing.assert_close(views, images.float() / 255, rtol=0, atol=0)
    stage = RandomGrayscale(1.0)
    assert torch.equal(stage.apply(views.clone(), stage.sample(16, (1, 8, 8), seeded(0))), views)
