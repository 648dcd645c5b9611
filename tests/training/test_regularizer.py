"""The alignment regularizer of paper 002, eq. 3: (1 - lambda) L_SSL - lambda E d(f(x'), f(x''))."""

import pytest
import torch
import torch.nn.functional as F
from pydantic import ValidationError

from mnemoscope.training import TrainConfig, prepare, train
from mnemoscope.training.objectives import TrainingModel
from mnemoscope.training.regularizer import regularized_loss, view_distances
from tests.training.configs import tiny_config
from tests.training.conftest import attached, method_config


def _pair(seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(6, 3, 4, generator=generator), torch.randn(6, 3, 4, generator=generator)


def test_lambda_zero_is_the_plain_loss_value_and_gradient():
    r0, r1 = (r.requires_grad_() for r in _pair())
    weight = torch.tensor(2.0, requires_grad=True)
    plain = weight * 1.5
    total, distance = regularized_loss(plain, r0, r1, weight=0.0)
    assert torch.equal(total, plain) and distance > 0
    total.backward()
    assert weight.grad == 1.5 and torch.equal(r0.grad, torch.zeros_like(r0))


def test_the_term_is_the_mean_l2_distance_of_normalized_representations():
    r0, r1 = _pair()
    expected = (F.normalize(r0.flatten(1), dim=1) - F.normalize(r1.flatten(1), dim=1)).norm(dim=1)
    torch.testing.assert_close(view_distances(r0, r1), expected)
    raw = (r0 - r1).flatten(1).norm(dim=1)
    torch.testing.assert_close(view_distances(r0, r1, normalize=False), raw)
    ssl = torch.tensor(3.0)
    total, distance = regularized_loss(ssl, r0, r1, weight=0.25)
    torch.testing.assert_close(total, 0.75 * ssl - 0.25 * expected.mean())
    torch.testing.assert_close(distance, expected.mean())
    # Minimizing the total pushes the two views apart: the gradient step raises d.
    r0.requires_grad_()
    regularized_loss(ssl, r0, r1, weight=1.0)[0].backward()
    assert view_distances(r0 - 0.1 * r0.grad, r1).mean() > expected.mean()
    with pytest.raises(ValueError, match="alignment lambda 1.5 is outside"):
        regularized_loss(ssl, r0, r1, weight=1.5)


def test_objectives_return_the_representations_of_their_two_views(fmnist):
    config = method_config("byol", alignment_lambda=0.5)
    objective, network, _ = attached(config, fmnist)
    # auto: the encoder's full output, as SSLMem reads it (last feature map; ViT: tokens)
    assert objective.alignment_tap == "layer4"
    model = TrainingModel(network, torch.device("cpu"), None)
    generator = torch.Generator().manual_seed(3)
    output = objective.step(model, fmnist.train.images[:8], torch.arange(8), generator)
    r0, r1 = output.representations
    assert r0.shape[0] == 8 and r0.requires_grad
    views = fmnist.train.images[:8]
    generator = torch.Generator().manual_seed(3)
    view0, view1 = (
        objective.augmentation(views, generator),
        objective.augmentation(views, generator),
    )
    with torch.no_grad():
        embedded = network.features(torch.cat([view0, view1]), ["layer4"])["layer4"]
    torch.testing.assert_close(torch.cat([r0, r1]).detach(), embedded)
    assert prepare(method_config("mae", alignment_lambda=0.5), fmnist).objective.alignment_tap == (
        "tokens"
    )


def test_the_docstring_states_the_default_tap_the_code_uses(fmnist):
    import mnemoscope.training.regularizer as regularizer

    doc = " ".join(regularizer.__doc__.split())
    assert TrainConfig().alignment_tap == "auto" and '(``alignment_tap="auto"``)' in doc
    # what the docstring says auto reads is what the engine resolves it to
    convnet = prepare(method_config("byol", alignment_lambda=0.5), fmnist).objective.alignment_tap
    vit = prepare(method_config("mae", alignment_lambda=0.5), fmnist).objective.alignment_tap
    assert f"``{vit}`` of a ViT" in doc and f"``{convnet}`` of a convnet" in doc


def test_a_larger_lambda_trains_views_further_apart(tmp_path, fmnist):
    def distance(weight):
        config = tiny_config(
            objective={"name": "simclr", "temperature": 0.2}, alignment_lambda=weight,
            data={"subset": list(range(64))}, batch_size=32, epochs=4,
        )  # fmt: skip
        metrics = train(config, tmp_path, bundle=fmnist, quiet=True).metrics()
        total = (1 - weight) * metrics["ssl_loss"] - weight * metrics["view_distance"]
        assert (metrics["loss"] - total).abs().max() < 1e-4  # the stored terms make the loss
        return metrics["view_distance"].iloc[-1]

    assert distance(0.9) > distance(0.05) + 0.05


def test_regularizer_options_are_checked_before_training(tmp_path, fmnist):
    with pytest.raises(ValidationError, match="objective 'supervised' has one"):
        tiny_config(alignment_lambda=0.1)
    with pytest.raises(ValidationError, match="alignment_lambda"):
        tiny_config(objective={"name": "simclr"}, alignment_lambda=1.5)
    config = tiny_config(objective={"name": "simclr"}, alignment_lambda=0.1, alignment_tap="cls")
    with pytest.raises(ValueError, match="unknown tap 'cls'"):
        train(config, tmp_path, bundle=fmnist, quiet=True)
    assert not any(tmp_path.iterdir())
    # lambda = 0 is no option at all: the run, and its directory, of the plain loss.
    plain = TrainConfig(objective={"name": "simclr"})
    assert TrainConfig(objective={"name": "simclr"}, alignment_lambda=0.0).key() == plain.key()
