"""Recipes: paper 002 table 6 (and the methods' own papers) and CPU-sized settings."""

import math

import pytest
import torch

from mnemoscope.training import METHODS, recipe
from mnemoscope.training.engine import _scheduler


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("scale", ["quick", "paper"])
def test_every_method_has_a_valid_recipe_at_both_scales(method, scale):
    config = recipe(method, scale)
    assert config.objective.name == method
    assert (config.model.name == "vit-tiny") == (method == "mae")
    if scale == "paper":
        assert (config.epochs, config.optim.warmup_epochs) == (600, 60)


def test_paper_recipes_follow_table_6():
    table_6 = {  # method: (batch, optimizer, lr)
        "mae": (2048, "adamw", 1.2e-3),
        "simclr": (4096, "lars", 4.8),
        "dino": (1024, "adamw", 2e-3),
        "vicreg": (256, "sgd", 3e-3),
    }
    for method, (batch, optimizer, lr) in table_6.items():
        config = recipe(method, "paper")
        assert (config.batch_size, config.optim.name, config.optim.lr) == (batch, optimizer, lr)
        assert config.optim.schedule == "cosine"


def test_overrides_merge_into_the_recipe_and_bad_names_are_refused():
    config = recipe("dino", epochs=5, objective={"student_temp": 0.2}, optim={"lr": 1e-4})
    assert (config.epochs, config.objective.student_temp, config.optim.lr) == (5, 0.2, 1e-4)
    assert config.objective.bottleneck_dim == 128 and config.optim.name == "adam"
    with pytest.raises(ValueError, match="unknown method 'moco'"):
        recipe("moco")
    with pytest.raises(ValueError, match="unknown recipe scale 'huge'"):
        recipe("mae", "huge")


@pytest.mark.parametrize("schedule", ["cosine", "none"])
def test_learning_rate_warms_up_linearly_then_follows_the_schedule(schedule):
    config = recipe("simclr", epochs=4, optim={"lr": 1.0, "warmup_epochs": 1, "schedule": schedule})
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=config.optim.lr)
    scheduler = _scheduler(config, optimizer, steps_per_epoch=4)
    rates = []
    for _ in range(16):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates[:5] == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0])
    if schedule == "cosine":  # 12 steps of cosine from 1 to 0 after the warm-up
        cosine = [(1 + math.cos(k * math.pi / 12)) / 2 for k in range(12)]
        assert rates[4:] == pytest.approx(cosine, abs=1e-6)
    else:
        assert rates[4:] == pytest.approx([1.0] * 12)
