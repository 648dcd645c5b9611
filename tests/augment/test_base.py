"""The Augmentation machinery: sample/apply split, subset application, generator handling."""

import torch

from mnemoscope import augment
from mnemoscope.augment.base import apply_to_subset, resolve_generator
from tests.augment.helpers import make_images, seeded


def test_call_is_sample_then_apply():
    images = make_images(8, 3, 32)
    simclr = augment.get("simclr", 32)
    params = simclr.sample(8, (3, 32, 32), seeded(0))
    assert all(v.device.type == "cpu" and v.shape[0] == 8 for p in params for v in p.values())
    torch.testing.assert_close(simclr.apply(images, params), simclr(images, seeded(0)))


def test_parameters_do_not_depend_on_the_pixels():
    """Same seed, different images: the same crops, flips and jitter factors are drawn."""
    simclr = augment.get("simclr", 32)
    a = simclr.sample(4, (3, 32, 32), seeded(0))
    b = simclr.sample(4, (3, 32, 32), seeded(0))
    for stage_a, stage_b in zip(a, b, strict=True):
        for key in stage_a:
            assert torch.equal(stage_a[key], stage_b[key])


def test_apply_to_subset_touches_only_selected():
    images = torch.zeros(5, 1, 2, 2)
    selected = torch.tensor([True, False, True, False, False])
    out = apply_to_subset(images, selected, lambda x, v: x + v.view(-1, 1, 1, 1), torch.arange(5.0))
    assert out[:, 0, 0, 0].tolist() == [0.0, 0.0, 2.0, 0.0, 0.0]
    none = apply_to_subset(torch.zeros(2, 1, 1, 1), torch.tensor([False, False]), lambda x: x + 1)
    assert none.sum() == 0


def test_resolve_generator():
    g = seeded(0)
    assert resolve_generator(g) is g
    a, b = resolve_generator(None), resolve_generator(None)
    assert a.initial_seed() != b.initial_seed()  # seeded from the OS, not a fixed default


def test_repr_names_the_preset():
    assert "simclr" in repr(augment.get("simclr", 32))


def test_augmentation_pickles_for_dataloader_workers():
    import pickle

    images = make_images(4, 3, 32)
    for name in augment.names():
        aug = augment.get(name, 32)
        clone = pickle.loads(pickle.dumps(aug))
        torch.testing.assert_close(clone(images, seeded(0)), aug(images, seeded(0)))
