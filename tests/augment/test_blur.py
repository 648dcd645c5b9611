"""Random Gaussian blur: kernel size, per-sample sigma, probability, torchvision equivalence."""

import pytest
import torch
from torchvision.transforms.v2 import functional as TF

from mnemoscope.augment.blur import RandomGaussianBlur, default_blur_kernel
from tests.augment.helpers import seeded


@pytest.mark.parametrize(
    ("size", "kernel"), [(28, 3), (32, 3), (64, 7), (96, 9), (224, 23), (8, 1)]
)
def test_default_kernel_is_ten_percent_made_odd(size, kernel):
    assert default_blur_kernel((size, size)) == kernel


def test_blur_matches_torchvision_per_sample_sigma():
    images = torch.rand(400, 3, 16, 16, generator=seeded(0))
    stage = RandomGaussianBlur(kernel=5, sigma=(0.1, 2.0), p=0.5)
    params = stage.sample(400, (3, 16, 16), seeded(1))
    views = stage.apply(images.clone(), params)
    blurred = params["apply"]
    assert abs(blurred.float().mean().item() - 0.5) < 0.1
    assert params["sigma"].min() >= 0.1 and params["sigma"].max() <= 2.0
    torch.testing.assert_close(views[~blurred], images[~blurred], rtol=0, atol=0)
    for i in blurred.nonzero().squeeze(1)[:20].tolist():
        sigma = params["sigma"][i].item()
        expected = TF.gaussian_blur(images[i], [5, 5], [sigma, sigma])
        torch.testing.assert_close(views[i], expected, atol=1e-5, rtol=0)
