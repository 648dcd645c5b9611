import pytest
import torch
import torch.nn.functional as F
from lightly.loss import NTXentLoss

from mnemoscope.training.objectives import nt_xent_per_example, per_example_classification_loss


@pytest.mark.parametrize("temperature", [0.07, 0.5, 1.0])
def test_nt_xent_mean_equals_lightly(temperature):
    generator = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(2, 16, 8, generator=generator)
    per_example = nt_xent_per_example(z0, z1, temperature)
    assert per_example.shape == (16,)
    expected = NTXentLoss(temperature=temperature)(z0, z1)
    torch.testing.assert_close(per_example.mean(), expected, rtol=1e-5, atol=1e-6)


def test_nt_xent_singles_out_the_image_whose_views_disagree():
    # Views of images 0..3 coincide, except image 2 whose second view points elsewhere.
    z0 = torch.eye(4)
    z1 = torch.eye(4)
    z1[2] = torch.tensor([1.0, 1.0, 0.0, 0.0])
    losses = nt_xent_per_example(z0, z1, temperature=0.1)
    assert losses.argmax() == 2
    assert losses[2] > 10 * losses[3]


def test_classification_losses_match_torch_reductions():
    generator = torch.Generator().manual_seed(1)
    logits = torch.randn(12, 5, generator=generator)
    labels = torch.randint(5, (12,), generator=generator)
    ce = per_example_classification_loss(logits, labels, "ce")
    torch.testing.assert_close(ce.mean(), F.cross_entropy(logits, labels))
    mse = per_example_classification_loss(logits, labels, "mse")
    torch.testing.assert_close(mse.mean(), F.mse_loss(logits, F.one_hot(labels, 5).float()))
    soft = torch.softmax(torch.randn(12, 5, generator=generator), dim=1)
    torch.testing.assert_close(
        per_example_classification_loss(logits, soft, "ce").mean(), F.cross_entropy(logits, soft)
    )
    with pytest.raises(ValueError, match="unknown classification loss 'hinge'"):
        per_example_classification_loss(logits, labels, "hinge")
