import numpy as np
import torch
from sklearn.datasets import load_digits

from mnemoscope import data


def test_digits_shapes_levels_and_split():
    bundle = data.load("digits")
    raw = load_digits()
    assert bundle.train.images.shape[1:] == (1, 8, 8)
    assert len(bundle.train) + len(bundle.test) == len(raw.target)
    assert bundle.classes == tuple("0123456789")
    # 17 grey levels 0..16 scaled to 0..255: 16 -> 255, 8 -> 128.
    values = set(torch.unique(torch.cat([bundle.train.images, bundle.test.images])).tolist())
    assert values <= {round(level * 255 / 16) for level in range(17)}
    assert {0, 128, 255} <= values
    # Pixels and labels are the original ones at each id.
    for image_set in (bundle.train, bundle.test):
        ids = image_set.ids.numpy()
        expected = np.rint(raw.images[ids] * 255 / 16)
        np.testing.assert_array_equal(image_set.images[:, 0].numpy(), expected)
        np.testing.assert_array_equal(image_set.labels.numpy(), raw.target[ids])


def test_digits_test_split_is_last_fifth_of_each_class():
    bundle = data.load("digits")
    raw_labels = load_digits().target
    assert sorted(bundle.train.ids.tolist() + bundle.test.ids.tolist()) == list(
        range(len(raw_labels))
    )
    for label in range(10):
        members = np.flatnonzero(raw_labels == label)
        expected_test = members[len(members) - len(members) // 5 :]
        got = bundle.test.ids[bundle.test.labels == label].numpy()
        np.testing.assert_array_equal(got, expected_test)


def test_digits_test_fraction_option():
    bundle = data.load("digits", test_fraction=0.5)
    assert abs(len(bundle.test) - len(bundle.train)) <= 10
