"""The small CPU convnets: layout, parameter count, and taps on 28x28 images."""

import pytest
import torch
from torch import nn

from mnemoscope import models

from ._tap_dims import CONVNET_WIDTHS, tap_dims


@pytest.mark.parametrize("name", ["convnet-tiny", "convnet-small"])
def test_stages_are_conv_bn_relu_with_max_pool_after_stages_1_to_3(name):
    net = models.build(name)
    stages = net.encoder.stages
    assert len(stages) == 4
    for i, (stage, width) in enumerate(zip(stages, CONVNET_WIDTHS[name], strict=True)):
        types = [type(m) for m in stage]
        assert types[:3] == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU]
        assert types[3:] == ([nn.MaxPool2d] if i < 3 else [])
        assert stage[0].kernel_size == (3, 3) and stage[0].out_channels == width


@pytest.mark.parametrize("name", ["convnet-tiny", "convnet-small"])
@pytest.mark.parametrize("in_channels", [1, 3])
def test_parameter_count(name, in_channels):
    widths = CONVNET_WIDTHS[name]
    convs = sum(
        9 * c_in * c_out for c_in, c_out in zip((in_channels, *widths[:-1]), widths, strict=True)
    )
    batchnorms = 2 * sum(widths)
    net = models.build(name, in_channels=in_channels)
    assert sum(p.numel() for p in net.encoder.parameters()) == convs + batchnorms
    row = next(r for r in models.catalog(in_channels) if r["name"] == name)
    assert row["encoder_params"] == convs + batchnorms


def test_convnet_small_is_about_0_4m_parameters():
    net = models.build("convnet-small")
    assert 350_000 < sum(p.numel() for p in net.encoder.parameters()) < 450_000


def test_tap_shapes_on_28x28_grayscale():
    net = models.build("convnet-small", in_channels=1, image_size=28).eval()
    features = net.features(torch.rand(2, 1, 28, 28), net.tap_names)
    expected = tap_dims("convnet-small", 28)  # 28 -> 14 -> 7 -> 3
    assert {k: tuple(v.shape) for k, v in features.items()} == {
        k: (2, d) for k, d in expected.items()
    }


def test_layer1_alone_runs_only_the_first_stage():
    net = models.build("convnet-tiny")
    ran = []
    for i, stage in enumerate(net.encoder.stages, start=1):
        stage.register_forward_pre_hook(lambda *_, i=i: ran.append(i))
    net.features(torch.rand(2, 3, 32, 32), ["layer1"])
    assert ran == [1]
