import pytest
import torch

from mnemoscope.studies.benign.config import ToySpec
from mnemoscope.studies.benign.toy import (
    augment_points,
    prototype_projector,
    sample_points,
    toy_grid,
    train_toy,
)


def test_points_carry_the_class_in_the_first_coordinates_only():
    spec = ToySpec(dim=6, class_dim=2, sigma=1.0)
    centres = torch.tensor([[5.0, 0.0], [-5.0, 0.0]])
    points, truth = sample_points(4000, centres, spec, torch.Generator().manual_seed(0))
    for label in (0, 1):
        members = points[truth == label]
        torch.testing.assert_close(members[:, :2].mean(0), centres[label], atol=0.05, rtol=0)
        # Sigma1 = sigma^2 / 10 on the class coordinates, Sigma2 = sigma^2 on the noise ones
        assert members[:, :2].var(0).max() < 0.13 and members[:, :2].var(0).min() > 0.07
        assert members[:, 2:].var(0).min() > 0.9 and members[:, 2:].var(0).max() < 1.1
        assert members[:, 2:].mean(0).abs().max() < 0.1


def test_augmentations_leave_the_class_coordinates_alone():
    spec = ToySpec(dim=6, class_dim=2)
    points = torch.randn(10, 6, generator=torch.Generator().manual_seed(1))
    views = augment_points(points, 5, spec, torch.Generator().manual_seed(2))
    assert views.shape == (10, 5, 6)
    torch.testing.assert_close(views[..., :2], points[:, None, :2].expand(10, 5, 2))
    assert (views[..., 2:] - points[:, None, 2:]).abs().min() > 0


def test_projector_averages_prototype_labels_by_inverse_distance():
    prototypes = torch.tensor([[0.0, 0.0], [3.0, 0.0]])
    labels = torch.eye(2)
    output = prototype_projector(torch.tensor([[1.0, 0.0], [0.0, 0.0]]), prototypes, labels)
    # distances 1 and 2 -> weights (1, 1/2) / 1.5
    torch.testing.assert_close(output[0], torch.tensor([2 / 3, 1 / 3]))
    # on a prototype its label takes (almost) all the weight
    assert output[1, 0] > 0.999
    torch.testing.assert_close(output.sum(1), torch.ones(2))


def test_many_augmentations_beat_one_at_a_small_sample_size():
    # Appendix E / fig. 14: with n = 4 points the prototypes memorize the random labels and the
    # encoder learns nothing; 32 augmentations per point exceed the capacity and force the
    # encoder to drop the noise coordinates, so the true classes separate.
    spec = ToySpec()
    one = [train_toy(4, 1, spec, seed)["test_knn"] for seed in range(4)]
    many = [train_toy(4, 32, spec, seed)["test_knn"] for seed in range(4)]
    assert sum(many) / 4 > sum(one) / 4 + 0.05


def test_random_labels_of_a_few_points_are_memorized():
    result = train_toy(4, 1, ToySpec(), seed=0)
    assert result["fit_accuracy"] == 1.0
    assert 0.0 <= result["test_knn"] <= 1.0 and 0.0 <= result["init_knn"] <= 1.0


def test_grid_has_a_row_per_cell_and_is_reproducible():
    spec = ToySpec(samples=[3, 5], augmentations=[1, 2], repetitions=1, steps=5,
                   probe_points=40, test_points=30)  # fmt: skip
    first = toy_grid(spec)
    assert len(first) == 4
    assert set(zip(first.samples, first.augmentations, strict=True)) == {
        (3, 1),
        (3, 2),
        (5, 1),
        (5, 2),
    }
    assert {"test_knn", "init_knn", "fit_accuracy", "loss", "seed"} <= set(first.columns)
    assert first.equals(toy_grid(spec))


def test_class_dim_must_be_below_dim():
    with pytest.raises(ValueError, match="class_dim"):
        ToySpec(dim=4, class_dim=4)
