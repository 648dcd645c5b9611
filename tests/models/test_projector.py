"""The projector: one hidden MLP layer (paper 003 fig. 2a) or a single linear classifier."""

import pytest
import torch
from torch import nn

from mnemoscope import models
from mnemoscope.models.projector import build_projector


def layer_types(net):
    return [type(m) for m in net.projector.layers]


@pytest.mark.parametrize("hidden", [None, 0])
def test_no_hidden_layer_is_a_single_linear_layer(hidden):
    net = models.build("convnet-tiny", projector_hidden=hidden, num_outputs=7)
    assert layer_types(net) == [nn.Linear]
    linear = net.projector.layers[0]
    assert (linear.in_features, linear.out_features) == (128, 7)
    assert linear.bias is not None  # a classifier needs its bias
    assert net.projector_hidden is None and net.config["projector_hidden"] is None
    assert "projector_hidden" not in net.tap_names


def test_projector_hidden_tap_without_hidden_layer_explains_why():
    net = models.build("convnet-tiny", projector_hidden=None)
    with pytest.raises(ValueError, match=r"projector_hidden=None.*single linear layer"):
        net.features(torch.rand(2, 3, 32, 32), ["embedding", "projector_hidden"])


def test_hidden_layer_with_batchnorm():
    net = models.build("convnet-small", projector_hidden=64, num_outputs=128)
    assert layer_types(net) == [nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Linear]
    first, last = net.projector.layers[0], net.projector.layers[3]
    assert (first.in_features, first.out_features) == (256, 64)
    assert (last.in_features, last.out_features) == (64, 128)


def test_hidden_layer_without_normalization_keeps_its_bias():
    # Paper 003 appendix F, table 6: "Projector MLP normalization 'none'".
    net = models.build("convnet-tiny", projector_hidden=32, projector_norm="none")
    assert layer_types(net) == [nn.Linear, nn.ReLU, nn.Linear]
    assert net.projector.layers[0].bias is not None


@pytest.mark.parametrize("norm", ["batchnorm", "none"])
def test_projector_hidden_tap_is_the_post_activation_hidden_layer(norm):
    torch.manual_seed(0)
    net = models.build("convnet-tiny", projector_hidden=48, projector_norm=norm)
    x = torch.rand(4, 3, 32, 32)
    net.train()  # BatchNorm with batch statistics, as during training
    with torch.no_grad():
        features = net.features(x, ["embedding", "projector_hidden", "output"])
        by_hand = features["embedding"]
        for layer in net.projector.layers[:-1]:
            by_hand = layer(by_hand)
    assert features["projector_hidden"].shape == (4, 48)
    assert (features["projector_hidden"] >= 0).all()  # after the ReLU
    assert (features["projector_hidden"] > 0).any()
    torch.testing.assert_close(features["projector_hidden"], by_hand)
    torch.testing.assert_close(features["output"], net.projector.layers[-1](by_hand))


def test_wide_projector_of_paper_003():
    projector = build_projector(512, 10, 65_536, "none")
    assert projector.layers[0].out_features == 65_536


def test_unknown_norm_is_named():
    with pytest.raises(ValueError, match="'layernorm'"):
        build_projector(16, 10, 8, "layernorm")
