import pytest
import torch

from mnemoscope.training import RandomLabelsObjective
from mnemoscope.training.labels import random_labels
from mnemoscope.training.objectives import build_objective

TRUE = torch.arange(2000) % 10


def test_noise_zero_keeps_labels_and_noise_one_randomizes_them():
    assert torch.equal(random_labels(TRUE, 10, noise=0.0, seed=1), TRUE)
    noisy = random_labels(TRUE, 10, noise=1.0, seed=1)
    # Uniform draws keep the true label with probability 1/C.
    assert 0.05 < (noisy == TRUE).float().mean() < 0.15
    counts = torch.bincount(noisy, minlength=10)
    assert counts.min() > 150


def test_noisy_sets_are_nested_and_seeded():
    quarter = random_labels(TRUE, 10, noise=0.25, seed=7)
    half = random_labels(TRUE, 10, noise=0.5, seed=7)
    changed_quarter = quarter != TRUE
    assert torch.equal(half[changed_quarter], quarter[changed_quarter])
    assert torch.equal(random_labels(TRUE, 10, noise=0.5, seed=7), half)
    assert not torch.equal(random_labels(TRUE, 10, noise=0.5, seed=8), half)


def test_num_classes_range_and_errors():
    labels = random_labels(TRUE, 3, seed=0)
    assert set(labels.tolist()) == {0, 1, 2}
    with pytest.raises(ValueError, match="label noise 1.5"):
        random_labels(TRUE, 10, noise=1.5)
    with pytest.raises(ValueError, match="num_classes 1 < 2"):
        random_labels(TRUE, 1)


def _targets(config, subset):
    objective = build_objective(
        config, train_labels=TRUE, subset=subset, num_classes=10, output_dim=8,
        augmentation=lambda images, generator: images, device=torch.device("cpu"),
    )  # fmt: skip
    return objective.targets, objective.num_outputs


def test_subsets_share_the_random_labels_of_their_common_images():
    config = RandomLabelsObjective(label_seed=3)
    first, _ = _targets(config, torch.arange(0, 1000))
    second, _ = _targets(config, torch.arange(500, 1500))
    assert torch.equal(first[500:], second[:500])


def test_per_sample_and_num_classes_options():
    targets, outputs = _targets(RandomLabelsObjective(per_sample=True), torch.arange(10, 60))
    assert torch.equal(targets, torch.arange(50)) and outputs == 50
    targets, outputs = _targets(RandomLabelsObjective(num_classes=4), torch.arange(100))
    assert outputs == 4 and int(targets.max()) <= 3
    with pytest.raises(ValueError, match="label_noise=0.5"):
        _targets(RandomLabelsObjective(num_classes=4, label_noise=0.5), torch.arange(100))
