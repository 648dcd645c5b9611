import math

import pytest
import torch
from torch import nn

from mnemoscope import models
from mnemoscope.measure.invariance import measure_invariance, normalized_invariance


def _brute_force(views: torch.Tensor, features: torch.Tensor, power: int = 2) -> torch.Tensor:
    """Eq. 2 written as loops: mean over pairs a < b over mean over j != i, norms ** power."""
    n, count, _ = views.shape
    values = []
    for i in range(n):
        pairs = [
            (views[i, a] - views[i, b]).norm() ** power
            for a in range(count)
            for b in range(a + 1, count)
        ]
        others = [(features[i] - features[j]).norm() ** power for j in range(n) if j != i]
        values.append(torch.stack(pairs).mean() / torch.stack(others).mean())
    return torch.stack(values)


def test_matches_the_equation_written_as_loops():
    generator = torch.Generator().manual_seed(0)
    views = torch.randn(7, 4, 5, generator=generator, dtype=torch.float64)
    features = torch.randn(7, 5, generator=generator, dtype=torch.float64)
    squared = normalized_invariance(views, features)  # the default reading of eq. 2
    torch.testing.assert_close(squared, _brute_force(views, features, power=2))
    plain = normalized_invariance(views, features, squared=False)
    torch.testing.assert_close(plain, _brute_force(views, features, power=1))
    assert not torch.allclose(squared, plain)


def test_both_readings_give_zero_for_invariance_and_about_one_for_a_random_map():
    generator = torch.Generator().manual_seed(4)
    features = torch.randn(300, 16, generator=generator)
    invariant = features[:, None, :].expand(300, 3, 16)
    assert normalized_invariance(invariant, features, squared=False).abs().max() < 1e-6
    random_views = torch.randn(300, 4, 16, generator=generator)
    assert abs(normalized_invariance(random_views, features, squared=False).mean() - 1) < 0.05
    # noise of sd 0.3 around each input: E||e_a - e_b|| / E||x - x'|| = 0.3 (same chi factor),
    # where the squared reading gives 0.3^2
    partly = features[:, None, :] + 0.3 * torch.randn(300, 4, 16, generator=generator)
    assert abs(normalized_invariance(partly, features, squared=False).mean() - 0.3) < 0.03
    assert torch.isnan(normalized_invariance(torch.ones(5, 2, 3), torch.ones(5, 3),
                                             squared=False)).all()  # fmt: skip


def test_invariant_map_gives_zero():
    generator = torch.Generator().manual_seed(1)
    features = torch.randn(20, 8, generator=generator)
    views = features[:, None, :].expand(20, 3, 8)  # every augmentation lands on one point
    values = normalized_invariance(views, features)
    assert values.abs().max() < 1e-10


def test_random_map_gives_about_one():
    # A map that ignores what two views share: every (input, view) gets an independent point.
    generator = torch.Generator().manual_seed(2)
    views = torch.randn(400, 4, 32, generator=generator)
    features = torch.randn(400, 32, generator=generator)
    mean = normalized_invariance(views, features).mean().item()
    assert abs(mean - 1.0) < 0.05


def test_partly_invariant_map_lies_between():
    generator = torch.Generator().manual_seed(3)
    features = torch.randn(200, 16, generator=generator)
    views = features[:, None, :] + 0.3 * torch.randn(200, 4, 16, generator=generator)
    mean = normalized_invariance(views, features).mean().item()
    # E||e_a - e_b||^2 = 2 * 0.09 * 16, E||x - x'||^2 = 2 * 16: I = 0.09
    assert 0.06 < mean < 0.12


def test_collapse_is_undefined_not_invariant():
    features = torch.ones(5, 3)
    views = torch.ones(5, 2, 3)
    assert torch.isnan(normalized_invariance(views, features)).all()


@pytest.mark.parametrize(
    ("views", "features"),
    [
        (torch.zeros(4, 1, 3), torch.zeros(4, 3)),  # one view: no pair
        (torch.zeros(4, 2, 3), torch.zeros(5, 3)),  # different n
        (torch.zeros(4, 2, 3), torch.zeros(4, 2)),  # different D
        (torch.zeros(1, 2, 3), torch.zeros(1, 3)),  # no other input
    ],
)
def test_rejects_bad_shapes(views, features):
    with pytest.raises(ValueError):
        normalized_invariance(views, features)


class RowSums(nn.Module):
    """A flip-invariant 'network': per-row pixel sums do not change under a horizontal flip."""

    def __init__(self) -> None:
        super().__init__()
        self.anchor = nn.Parameter(torch.zeros(1))  # extract_features reads the device here

    def features(self, x, taps):
        return {tap: x.sum(dim=3).flatten(1) for tap in taps}


def _images(n=12, seed=4):
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 1, 8, 8), generator=generator, dtype=torch.uint8)


def test_network_invariant_to_its_augmentation_scores_zero():
    images = _images()
    views = torch.stack([images, images.flip(-1), images.flip(-1), images], dim=1)
    values = measure_invariance(RowSums(), views, images, ["rows"])
    assert values["rows"].shape == (12,)
    assert values["rows"].abs().max() < 1e-10


def test_network_not_invariant_to_a_vertical_flip_scores_above_zero():
    images = _images()
    views = torch.stack([images, images.flip(-2)], dim=1)
    assert measure_invariance(RowSums(), views, images, ["rows"])["rows"].mean() > 0.1


def test_every_tap_of_a_real_network():
    network = models.build(
        "convnet-tiny", in_channels=1, num_outputs=10, projector_hidden=16, image_size=8
    ).eval()
    images = _images()
    noise = 40 * torch.randn(12, 2, 1, 8, 8, generator=torch.Generator().manual_seed(5))
    noisy = (images[:, None].float() + noise).clamp(0, 255).to(torch.uint8)
    values = measure_invariance(network, noisy, images, network.tap_names, batch_size=5)
    assert set(values) == set(network.tap_names)
    for tap, per_image in values.items():
        assert per_image.shape == (12,), tap
        assert all(math.isfinite(v) and v > 0 for v in per_image.tolist()), tap
    identical = torch.stack([images, images], dim=1)
    same = measure_invariance(network, identical, images, ["embedding", "output"])
    assert same["embedding"].abs().max() < 1e-8
    assert same["output"].abs().max() < 1e-8
    plain = measure_invariance(network, noisy, images, ["embedding"], squared=False)
    features = network.features(noisy.flatten(0, 1).float() / 255, ["embedding"])["embedding"]
    clean = network.features(images.float() / 255, ["embedding"])["embedding"]
    expected = normalized_invariance(features.view(12, 2, -1), clean, squared=False)
    torch.testing.assert_close(plain["embedding"], expected, rtol=1e-4, atol=1e-6)


def test_views_must_match_images():
    images = _images()
    with pytest.raises(ValueError, match="views must be"):
        measure_invariance(RowSums(), images, images, ["rows"])
