"""The DINO projector kind: lightly's DINOProjectionHead inside a Network."""

import json

import pytest
import torch
from lightly.models.modules.heads import DINOProjectionHead

from mnemoscope import models


def _net(**options):
    torch.manual_seed(0)
    return models.build(
        "convnet-tiny", projector="dino", projector_hidden=32, projector_bottleneck=8,
        num_outputs=50, projector_norm="none", **options,
    )  # fmt: skip


def test_dino_head_taps_are_its_normalized_bottleneck_and_output():
    net = _net().eval()
    assert isinstance(net.projector, DINOProjectionHead)
    assert (net.projector_hidden, net.num_outputs) == (8, 50)
    x = torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        features = net.features(x, ["embedding", "projector_hidden", "output"])
        bottleneck = net.projector.layers(features["embedding"])
        assert torch.equal(features["output"], net(x))
    torch.testing.assert_close(features["projector_hidden"].norm(dim=1), torch.ones(3))
    torch.testing.assert_close(
        features["projector_hidden"], torch.nn.functional.normalize(bottleneck, dim=1)
    )
    # DINO's head: GELU MLP, no BatchNorm with projector_norm="none", last layer norm fixed.
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in net.projector.modules())
    assert not net.projector.last_layer.weight_g.requires_grad


def test_dino_head_config_rebuilds_and_loads_the_same_function():
    net = _net()
    config = json.loads(json.dumps(net.config))
    assert (config["projector"], config["projector_bottleneck"]) == ("dino", 8)
    rebuilt = models.build(**config)
    rebuilt.load_state_dict(net.state_dict())
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(rebuilt.eval()(x), net.eval()(x))


def test_mlp_networks_keep_their_config():
    assert "projector" not in models.build("convnet-tiny").config


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(projector="swav"), r"projector must be one of \('mlp', 'dino'\), got 'swav'"),
        (dict(projector="dino", projector_hidden=None), r"dino projector.*projector_hidden"),
        (dict(projector="dino", projector_bottleneck=0), r"projector_bottleneck.*0"),
    ],
)
def test_bad_projector_options_are_named(options, message):
    with pytest.raises(ValueError, match=message):
        models.build("convnet-tiny", **options)
