"""Mixup (paper 003): convex combinations of pairs, soft targets, generator-driven Beta draws."""

import pytest
import torch
import torch.nn.functional as F
from scipy.stats import beta as beta_distribution
from scipy.stats import kstest

from mnemoscope import augment
from mnemoscope.augment.mixup import sample_beta
from tests.augment.helpers import make_images, seeded


def test_mixup_is_a_convex_combination_of_pairs():
    n = 16
    images = make_images(n, 3, 8)
    targets = F.one_hot(torch.arange(n), n).float()  # one class per image reveals the pairs
    mixed, mixed_targets = augment.mixup(images, targets, alpha=1.0, generator=seeded(0))
    assert mixed.dtype == torch.float32 and mixed.shape == images.shape
    torch.testing.assert_close(mixed_targets.sum(dim=1), torch.ones(n))
    x = images.float() / 255
    lams = set()
    for i in range(n):
        row = mixed_targets[i].clone()
        lam = row[i].item()
        row[i] = 0
        partner = int(row.argmax()) if row.sum() > 0 else i
        torch.testing.assert_close(mixed[i], lam * x[i] + (1 - lam) * x[partner])
        if partner != i:
            lams.add(round(lam, 6))
    assert len(lams) == 1  # one lam for the whole batch


def test_mixup_soft_targets_keep_row_sums():
    targets = torch.softmax(torch.randn(8, 5, generator=seeded(1)), dim=1)
    _, mixed_targets = augment.mixup(make_images(8, 1, 8), targets, 0.4, seeded(2))
    torch.testing.assert_close(mixed_targets.sum(dim=1), torch.ones(8))
    assert (mixed_targets >= 0).all()


def test_mixup_is_deterministic_given_the_seed_and_leaves_the_global_rng():
    images, targets = make_images(8, 3, 8), F.one_hot(torch.arange(8) % 3, 3).float()
    before = torch.get_rng_state()
    a = augment.mixup(images, targets, 0.5, seeded(3))
    b = augment.mixup(images, targets, 0.5, seeded(3))
    c = augment.mixup(images, targets, 0.5, seeded(4))
    assert torch.equal(torch.get_rng_state(), before)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


@pytest.mark.parametrize("alpha", [0.2, 1.0, 4.0])
def test_lam_follows_beta_alpha_alpha(alpha):
    generator = seeded(0)
    draws = [sample_beta(alpha, generator) for _ in range(2000)]
    assert kstest(draws, beta_distribution(alpha, alpha).cdf).pvalue > 1e-3


def test_mixup_rejects_bad_arguments():
    images = make_images(4, 3, 8)
    with pytest.raises(ValueError, match="alpha"):
        augment.mixup(images, torch.eye(4), alpha=0.0, generator=seeded(0))
    with pytest.raises(ValueError, match="targets"):
        augment.mixup(images, torch.arange(4), alpha=1.0, generator=seeded(0))
    with pytest.raises(ValueError, match="targets"):
        augment.mixup(images, torch.eye(3), alpha=1.0, generator=seeded(0))
