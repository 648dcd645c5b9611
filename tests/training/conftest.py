"""Shared by the training tests: the embedded dataset, and each SSL method's tiny config."""

import pytest
import torch

from mnemoscope import data, models
from mnemoscope.training import prepare
from tests.training.configs import tiny_config


@pytest.fixture(scope="session")
def fmnist():
    return data.load("fmnist-mini")


TINY_OBJECTIVES = {
    "byol": {"name": "byol", "predictor_hidden": 32, "momentum": 0.9},
    "simsiam": {"name": "simsiam", "predictor_hidden": 16},
    "dino": {"name": "dino", "bottleneck_dim": 16, "warmup_teacher_temp_epochs": 2},
    "vicreg": {"name": "vicreg"},
    "barlowtwins": {"name": "barlowtwins"},
    "mae": {"name": "mae", "decoder_dim": 32, "decoder_depth": 1, "decoder_heads": 2},
}
VIT = {"name": "vit-tiny", "projector_hidden": 16, "output_dim": 8, "options": {"patch_size": 14}}


def method_config(method, objective=None, model=None, **overrides):
    """``tiny_config`` for ``method``, ``objective`` and ``model`` options merged into its own."""
    model = {**(VIT if method == "mae" else {"output_dim": 32}), **(model or {})}
    options = {**TINY_OBJECTIVES[method], **(objective or {})}
    return tiny_config(objective=options, model=model, **overrides)


def attached(config, bundle):
    """The objective of ``config`` attached to a fresh network, as the engine builds them."""
    prepared = prepare(config, bundle)
    torch.manual_seed(0)
    network = models.build(**prepared.network_config)
    owned = prepared.objective.attach(network)
    return prepared.objective, network, owned
