"""The self-supervised methods at the level of one step: per-example losses against lightly's
batch means, masks drawn from the run's generator, EMA teachers and DINO's schedules."""

import pytest
import torch
from lightly.loss import DINOLoss, NegativeCosineSimilarity

from mnemoscope.training import prepare
from mnemoscope.training.objectives import (
    TrainingModel,
    TrainingProgress,
    default_augment,
    dino_per_example,
    mae_per_example,
    negative_cosine_per_example,
)
from mnemoscope.training.objectives.mae import random_token_mask
from tests.training.conftest import attached, method_config


def _random(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def test_negative_cosine_per_example_mean_equals_lightly():
    p0, z1, p1, z0 = _random(4, 12, 16).unbind()
    per_example = negative_cosine_per_example(p0, z1, p1, z0)
    criterion = NegativeCosineSimilarity()
    expected = (criterion(p0, z1) + criterion(p1, z0)) / 2
    assert per_example.shape == (12,)
    torch.testing.assert_close(per_example.mean(), expected)
    # An image whose prediction points away from its target has the largest loss.
    p0[3] = -z1[3]
    assert negative_cosine_per_example(p0, z1, p1, z0).argmax() == 3


@pytest.mark.parametrize("views", [2, 3])
def test_dino_per_example_mean_equals_lightly_and_leaves_the_center(views):
    teacher, student = list(_random(views, 10, 64, seed=1)), list(_random(views, 10, 64, seed=2))
    loss = DINOLoss(output_dim=64, warmup_teacher_temp_epochs=0, student_temp=0.1)
    loss.center.copy_(_random(1, 1, 64, seed=3))
    center = loss.center.clone()
    per_example = dino_per_example(teacher, student, loss.center, 0.05, 0.1)
    assert torch.equal(loss.center, center)  # ours does not move it; lightly's does
    expected = loss(teacher, student, teacher_temp=0.05)
    assert per_example.shape == (10,)
    torch.testing.assert_close(per_example.mean(), expected)
    assert not torch.equal(loss.center, center)


def test_mae_per_example_mean_equals_mse():
    prediction, target = _random(2, 6, 37, 49).unbind()
    per_example = mae_per_example(prediction, target)
    assert per_example.shape == (6,)
    torch.testing.assert_close(per_example.mean(), torch.nn.MSELoss()(prediction, target))


def test_mae_masks_come_from_the_generator_and_keep_the_class_token():
    state = torch.get_rng_state()
    keep, mask = random_token_mask(4, 50, 0.75, torch.Generator().manual_seed(1), "cpu")
    again, _ = random_token_mask(4, 50, 0.75, torch.Generator().manual_seed(1), "cpu")
    other, _ = random_token_mask(4, 50, 0.75, torch.Generator().manual_seed(2), "cpu")
    assert torch.equal(torch.get_rng_state(), state)  # the global RNG is left alone
    assert torch.equal(keep, again) and not torch.equal(keep, other)
    assert keep.shape == (4, 1 + int(49 * 0.25)) and mask.shape == (4, 50 - keep.shape[1])
    assert (keep[:, 0] == 0).all()  # CLS first, never masked
    assert torch.equal(torch.cat([keep, mask], 1).sort(1).values, torch.arange(50).expand(4, -1))


@pytest.mark.parametrize("method", ["byol", "simsiam", "dino", "mae", "vicreg", "barlowtwins"])
def test_step_returns_the_loss_and_its_per_example_values(method, fmnist):
    objective, network, owned = attached(method_config(method), fmnist)
    objective.begin_step(TrainingProgress(0, 10, 5))
    model = TrainingModel(network, torch.device("cpu"), None)
    images = fmnist.train.images[:8]
    output = objective.step(model, images, torch.arange(8), torch.Generator().manual_seed(0))
    assert output.loss.ndim == 0 and output.loss.requires_grad and output.representations is None
    if method in ("vicreg", "barlowtwins"):  # statistics of the batch: no per-example loss
        assert output.per_example is None and not objective.per_example_loss
        return
    assert output.per_example.shape == (8,) and not output.per_example.requires_grad
    torch.testing.assert_close(output.per_example.mean(), output.loss.detach())
    output.loss.backward()
    trainable = [p for p in owned.parameters() if p.requires_grad] if owned is not None else []
    assert all(p.grad is not None for p in trainable)  # heads and decoders learn
    if method in ("byol", "dino"):
        assert all(p.grad is None for p in objective.teacher.parameters())


def test_teacher_follows_the_student_with_a_cosine_momentum(fmnist):
    objective, network, _ = attached(method_config("byol"), fmnist)
    student, teacher = network.encoder.stages[0][0].weight, objective.teacher.encoder.stages[0][0]
    assert torch.equal(student, teacher.weight)  # starts as a copy
    with torch.no_grad():
        student.add_(1.0)
    before = teacher.weight.clone()
    objective.begin_step(TrainingProgress(0, 10, 5))
    assert objective.momentum == pytest.approx(0.9)
    objective.end_step()
    torch.testing.assert_close(teacher.weight, 0.9 * before + 0.1 * student)
    objective.begin_step(TrainingProgress(9, 10, 5))
    assert objective.momentum == pytest.approx(1.0)  # the last update leaves it in place


def test_dino_warms_the_teacher_temperature_and_freezes_the_last_layer(fmnist):
    objective, network, _ = attached(method_config("dino"), fmnist)
    temperatures, frozen = [], []
    for step in (0, 5, 10):  # epochs 0, 1, 2 with 5 steps per epoch
        objective.begin_step(TrainingProgress(step, 15, 5))
        temperatures.append(objective.teacher_temp)
        frozen.append(not network.projector.last_layer.weight_v.requires_grad)
    assert temperatures == pytest.approx([0.04, 0.07, 0.07])  # 2 warm-up epochs: 0.04, 0.07
    assert frozen == [True, False, False]  # DINO: the first epoch


def test_mae_trains_on_crops_and_flips_and_the_others_on_simclr_views(fmnist):
    mae = prepare(method_config("mae"), fmnist).objective.augmentation
    assert mae.name == "simclr" and mae.params["crop_scale"] == [0.2, 1.0]
    assert mae.params["jitter_p"] == mae.params["grey_p"] == mae.params["blur_p"] == 0
    dino = prepare(method_config("dino"), fmnist).objective.augmentation
    assert dino.name == "simclr" and dino.params["jitter_p"] == 0.8
    assert default_augment("mae") == {"name": "simclr", "params": {
        "crop_scale": (0.2, 1.0), "jitter_p": 0.0, "grey_p": 0.0, "blur_p": 0.0}}  # fmt: skip


def test_two_views_are_drawn_in_order_and_returned_with_their_outputs(fmnist):
    # The step SimCLR, BYOL, SimSiam, VICReg, Barlow Twins and DINO share: x' then x'' from
    # the run's generator, one forward pass, and the views kept for a teacher.
    from mnemoscope.training.objectives import forward_two_views

    objective, network, _ = attached(method_config("byol"), fmnist)
    network.eval()  # BatchNorm on running statistics: a batch and its halves agree
    model = TrainingModel(network, torch.device("cpu"), None)
    images = fmnist.train.images[:6]
    generator = torch.Generator().manual_seed(4)
    with torch.no_grad():
        pair = forward_two_views(objective, model, images, generator)
    replay = torch.Generator().manual_seed(4)
    first = objective.augmentation(images, replay)
    second = objective.augmentation(images, replay)
    assert torch.equal(pair.views, torch.cat([first, second]))
    assert torch.equal(generator.get_state(), replay.get_state())  # two draws, no more
    with torch.no_grad():
        torch.testing.assert_close(pair.z0, network(first))
        torch.testing.assert_close(pair.z1, network(second))
    assert pair.representations is None  # no alignment regularizer
