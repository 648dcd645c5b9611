"""Crop-box sampling against torchvision, the resized crop itself, the CIFAR pad-crop, resize."""

import math

import pytest
import torch
import torch.nn.functional as F
from scipy.stats import ks_2samp
from torchvision.transforms import RandomResizedCrop
from torchvision.transforms.v2 import functional as TF

from mnemoscope import augment
from mnemoscope.augment.crops import ResizedCropFlip, sample_resized_crop_boxes
from tests.augment.helpers import make_images, seeded

SCALE, RATIO = (0.08, 1.0), (3 / 4, 4 / 3)


def torchvision_boxes(n, height, width, scale, ratio, seed):
    image = torch.zeros(1, height, width)
    with torch.random.fork_rng(devices=[]):  # get_params reads the global RNG
        torch.manual_seed(seed)
        rows = [RandomResizedCrop.get_params(image, list(scale), list(ratio)) for _ in range(n)]
    return torch.tensor(rows)  # (top, left, h, w)


@pytest.mark.parametrize(("height", "width"), [(32, 32), (28, 44)])
def test_box_distribution_matches_torchvision(height, width):
    n = 4000
    ours = sample_resized_crop_boxes(n, height, width, SCALE, RATIO, seeded(0))
    theirs = torchvision_boxes(n, height, width, SCALE, RATIO, seed=0)
    for boxes in (ours, theirs):  # every box lies inside the image
        top, left, h, w = boxes.T
        assert (top >= 0).all() and (left >= 0).all() and (h >= 1).all() and (w >= 1).all()
        assert (top + h <= height).all() and (left + w <= width).all()

    def statistics(boxes):
        top, left, h, w = boxes.T.double()
        return {
            "area fraction": h * w / (height * width),
            "aspect ratio": w / h,
            "centre x": (left + w / 2) / width,
            "centre y": (top + h / 2) / height,
        }

    for (key, a), b in zip(statistics(ours).items(), statistics(theirs).values(), strict=True):
        result = ks_2samp(a.numpy(), b.numpy())
        assert result.pvalue > 1e-3, f"{key}: KS p = {result.pvalue:.2g}"


def test_box_distribution_is_not_trivially_passing():
    """The KS check above does detect a wrong scale range."""
    ours = sample_resized_crop_boxes(4000, 32, 32, (0.2, 1.0), RATIO, seeded(0))
    theirs = torchvision_boxes(4000, 32, 32, SCALE, RATIO, seed=0)
    area = [(b[:, 2] * b[:, 3]).double().numpy() for b in (ours, theirs)]
    assert ks_2samp(*area).pvalue < 1e-6


@pytest.mark.parametrize(("height", "width", "ratio"), [(32, 32, (2.0, 3.0)), (20, 60, RATIO)])
def test_fallback_is_torchvision_centre_crop(height, width, ratio):
    """When no attempt fits (scale near 1, ratio far from the image's) both fall back alike."""
    ours = sample_resized_crop_boxes(50, height, width, (0.95, 1.0), ratio, seeded(0))
    theirs = torchvision_boxes(50, height, width, (0.95, 1.0), ratio, seed=0)
    assert (ours == theirs[0]).all() and (theirs == theirs[0]).all()


def test_resized_crop_matches_torchvision_resized_crop():
    images = torch.rand(24, 3, 28, 28, generator=seeded(0))
    stage = ResizedCropFlip((32, 32), SCALE, RATIO, flip_p=0.5)
    params = stage.sample(24, (3, 28, 28), seeded(1))
    views = stage.apply(images.clone(), params)
    for image, view, box, flip in zip(images, views, params["boxes"], params["flip"], strict=True):
        top, left, h, w = box.tolist()
        expected = TF.resized_crop(image, top, left, h, w, [32, 32], antialias=False)
        expected = expected.flip(-1) if flip else expected
        # torchvision clamps samples to the crop's own edge; the warp reads the neighbouring
        # pixel there, so only the outer ring (within half an input pixel of the box) may differ
        margin = math.ceil(32 / min(h, w))
        inner = (..., slice(margin, -margin), slice(margin, -margin))
        torch.testing.assert_close(view[inner], expected[inner], atol=1e-5, rtol=0)


def test_crop_of_the_whole_image_is_exact_and_flip_mirrors():
    images = torch.rand(2, 3, 28, 28, generator=seeded(0))
    stage = ResizedCropFlip((28, 28), SCALE, RATIO, flip_p=0.5)
    whole = torch.tensor([[0, 0, 28, 28], [0, 0, 28, 28]])
    views = stage.apply(images.clone(), {"boxes": whole, "flip": torch.tensor([False, True])})
    torch.testing.assert_close(views[0], images[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(views[1], images[1].flip(-1), atol=1e-5, rtol=0)
    # a box touching the borders upsampled: identical to torchvision everywhere (no black edge)
    box = torch.tensor([[0, 0, 14, 28]])
    view = stage.apply(images[:1].clone(), {"boxes": box, "flip": torch.tensor([False])})
    expected = TF.resized_crop(images[0], 0, 0, 14, 28, [28, 28], antialias=False)
    torch.testing.assert_close(view[0, :, :20], expected[:, :20], atol=1e-5, rtol=0)


def test_weak_crop_is_a_shifted_or_flipped_window_of_the_padded_image():
    images = make_images(32, 3, 32)
    views = augment.get("weak", 32)(images, seeded(0))
    padded = F.pad(images.float() / 255, [4, 4, 4, 4])
    shifts, flips = set(), 0
    for image, view in zip(padded, views, strict=True):
        windows = {
            (top, left, flip): image[:, top : top + 32, left : left + 32]
            for top in range(9)
            for left in range(9)
            for flip in (False, True)
        }
        matches = [
            key for key, window in windows.items()
            if torch.equal(view, window.flip(-1) if key[2] else window)
        ]  # fmt: skip
        assert matches, "view is not a window of the padded image"
        shifts.add(matches[0][:2])
        flips += matches[0][2]
    assert len(shifts) > 15 and 4 <= flips <= 28  # offsets and flips really vary


def test_weak_pad_zero_and_no_flip_is_identity():
    images = make_images(4, 1, 28)
    views = augment.get("weak", 28, pad=0, flip_p=0.0)(images, seeded(0))
    torch.testing.assert_close(views, images.float() / 255, rtol=0, atol=0)


def test_none_converts_and_upsizes_like_interpolate():
    images = make_images(4, 3, 28)
    same = augment.get("none", 28)(images)
    torch.testing.assert_close(same, images.float() / 255, rtol=0, atol=0)
    bigger = augment.get("none", 32)(images)
    expected = F.interpolate(images.float() / 255, size=(32, 32), mode="bilinear")
    torch.testing.assert_close(bigger, expected, atol=1e-5, rtol=0)
