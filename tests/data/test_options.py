import numpy as np
import pytest
import torch

from mnemoscope import data
from mnemoscope.data import DatasetBundle, ImageSet


def bundle_of(images: torch.Tensor) -> DatasetBundle:
    n = images.shape[0]
    image_set = ImageSet(images, torch.zeros(n, dtype=torch.int64), torch.arange(10, 10 + n))
    return DatasetBundle("toy", image_set, image_set, ("only",))


def test_grey_to_three_channels_repeats_exactly():
    grey = torch.randint(0, 256, (3, 1, 5, 5), dtype=torch.uint8)
    out = data.preprocess(bundle_of(grey), channels=3)
    assert out.train.images.shape == (3, 3, 5, 5)
    for channel in range(3):
        assert torch.equal(out.train.images[:, channel], grey[:, 0])


def test_rgb_to_grey_uses_luma():
    images = torch.zeros(3, 3, 2, 2, dtype=torch.uint8)
    images[0, 0] = 255  # pure red
    images[1, 1] = 255  # pure green
    images[2] = 200  # grey stays grey
    out = data.preprocess(bundle_of(images), channels=1).train.images
    assert out.shape == (3, 1, 2, 2)
    assert out[:, 0, 0, 0].tolist() == [76, 150, 200]  # 0.299 * 255, 0.587 * 255


def test_resize_gives_size_and_keeps_flat_images_flat():
    images = torch.full((2, 1, 28, 28), 123, dtype=torch.uint8)
    out = data.preprocess(bundle_of(images), size=32).train.images
    assert out.shape == (2, 1, 32, 32) and out.dtype == torch.uint8
    assert bool((out == 123).all())


def test_downsizing_is_antialiased():
    # A one-pixel checkerboard averages to mid-grey when antialiased (plain sampling keeps 0/255).
    board = ((torch.arange(8)[:, None] + torch.arange(8)[None, :]) % 2 * 255).to(torch.uint8)
    out = data.preprocess(bundle_of(board.reshape(1, 1, 8, 8)), size=2).train.images
    assert bool(((out >= 100) & (out <= 155)).all())


def test_pad_adds_zero_border():
    images = torch.full((2, 3, 4, 4), 9, dtype=torch.uint8)
    out = data.preprocess(bundle_of(images), pad=2).train.images
    assert out.shape == (2, 3, 8, 8)
    assert torch.equal(out[:, :, 2:6, 2:6], images)
    assert int(out.sum()) == int(images.sum())


def test_resize_then_pad_and_labels_ids_untouched():
    bundle = bundle_of(torch.full((2, 1, 10, 10), 50, dtype=torch.uint8))
    out = data.preprocess(bundle, size=6, pad=1, channels=3)
    assert out.train.images.shape == (2, 3, 8, 8)
    assert out.image_size == (8, 8)
    assert torch.equal(out.train.ids, bundle.train.ids)
    assert torch.equal(out.train.labels, bundle.train.labels)


def test_limit_keeps_first_examples_with_their_ids():
    bundle = bundle_of(torch.zeros(5, 1, 2, 2, dtype=torch.uint8))
    out = data.preprocess(bundle, limit=3)
    assert out.train.ids.tolist() == [10, 11, 12]
    assert len(data.preprocess(bundle, limit=50).train) == 5


def test_options_through_load():
    bundle = data.load("fmnist-mini", size=32, channels=3, limit=7)
    assert bundle.train.images.shape == (7, 3, 32, 32)
    assert bundle.test.images.shape == (7, 3, 32, 32)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("size", 0, "size must be an int >= 1, got 0"),
        ("size", 2.5, "size must be an int >= 1, got 2.5"),
        ("pad", -1, "pad must be an int >= 0, got -1"),
        ("channels", 2, "channels must be 1 or 3, got 2"),
        ("limit", 0, "limit must be an int >= 1, got 0"),
    ],
)
def test_bad_option_values_are_refused(option, value, message):
    bundle = bundle_of(torch.zeros(1, 1, 2, 2, dtype=torch.uint8))
    with pytest.raises(ValueError, match=message):
        data.preprocess(bundle, **{option: value})


def test_numpy_integers_are_accepted():
    bundle = bundle_of(torch.zeros(4, 1, 2, 2, dtype=torch.uint8))
    out = data.preprocess(bundle, size=np.int64(3), limit=np.int32(2), channels=np.int8(3))
    assert out.train.images.shape == (2, 3, 3, 3)
