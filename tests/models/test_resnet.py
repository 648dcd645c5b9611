"""torchvision ResNets with the CIFAR stem (paper 003, appendix F)."""

import pytest
import torch
import torchvision
from torch import nn

from mnemoscope import models

from ._tap_dims import tap_dims


@pytest.mark.parametrize("name", ["resnet18", "resnet50"])
def test_cifar_stem_is_a_stride_1_3x3_conv_without_max_pool(name):
    resnet = models.build(name).encoder.resnet
    conv1 = resnet.conv1
    assert (conv1.kernel_size, conv1.stride, conv1.padding) == ((3, 3), (1, 1), (1, 1))
    assert conv1.bias is None
    assert isinstance(resnet.maxpool, nn.Identity)
    assert not any(isinstance(m, nn.MaxPool2d) for m in resnet.modules())


@pytest.mark.parametrize("name", ["resnet18", "resnet50"])
def test_classifier_fc_is_gone(name):
    net = models.build(name)
    assert isinstance(net.encoder.resnet.fc, nn.Identity)
    assert not [n for n, _ in net.encoder.named_parameters() if "fc" in n]


@pytest.mark.parametrize("name", ["resnet18", "resnet50"])
def test_parameter_count_is_torchvision_minus_fc_with_a_3x3_conv1(name):
    reference = getattr(torchvision.models, name)(weights=None)
    expected = (
        sum(p.numel() for p in reference.parameters())
        - sum(p.numel() for p in reference.fc.parameters())
        - reference.conv1.weight.numel()
        + 64 * 3 * 3 * 3
    )
    assert sum(p.numel() for p in models.build(name).encoder.parameters()) == expected


def test_imagenet_stem_when_asked():
    net = models.build("resnet18", cifar_stem=False, in_channels=1).eval()
    resnet = net.encoder.resnet
    assert (resnet.conv1.kernel_size, resnet.conv1.stride) == ((7, 7), (2, 2))
    assert resnet.conv1.in_channels == 1
    assert isinstance(resnet.maxpool, nn.MaxPool2d)
    features = net.features(torch.rand(2, 1, 32, 32), net.tap_names)
    expected = tap_dims("resnet18", cifar_stem=False)  # 32 -> 8 -> 4 -> 2 -> 1
    assert {k: tuple(v.shape) for k, v in features.items()} == {
        k: (2, d) for k, d in expected.items()
    }


def test_grayscale_cifar_stem_takes_one_channel():
    assert models.build("resnet18", in_channels=1).encoder.resnet.conv1.in_channels == 1


def test_layer_taps_are_torchvision_layer_outputs():
    net = models.build("resnet18").eval()
    captured = {}
    for name in ("layer1", "layer2", "layer3", "layer4"):
        getattr(net.encoder.resnet, name).register_forward_hook(
            lambda _m, _i, out, name=name: captured.__setitem__(name, out.flatten(1))
        )
    with torch.no_grad():
        features = net.features(torch.rand(2, 3, 32, 32), ["layer1", "layer2", "layer4"])
    for name, value in features.items():
        assert torch.equal(value, captured[name])
    assert "layer3" in captured  # computed on the way to layer4, just not returned
    assert "layer3" not in features


def test_bad_cifar_stem_value_is_named():
    with pytest.raises(ValueError, match="cifar_stem.*'yes'"):
        models.build("resnet18", cifar_stem="yes")


def test_wide_resnet_is_torchvisions_with_the_cifar_stem_and_resnet50_taps():
    net = models.build("wide-resnet50-2").eval()
    reference = torchvision.models.wide_resnet50_2(weights=None)
    expected = (
        sum(p.numel() for p in reference.parameters())
        - sum(p.numel() for p in reference.fc.parameters())
        - reference.conv1.weight.numel()
        + 64 * 3 * 3 * 3
    )
    assert sum(p.numel() for p in net.encoder.parameters()) == expected
    # Twice ResNet-50's inner bottleneck width (64 -> 128 in layer1), same block outputs.
    block = net.encoder.resnet.layer1[0]
    assert (block.conv2.in_channels, block.conv3.out_channels) == (128, 256)
    assert net.encoder.resnet.conv1.kernel_size == (3, 3)
    with torch.no_grad():
        features = net.features(torch.rand(2, 3, 16, 16), ["layer2", "embedding"])
    dims = tap_dims("wide-resnet50-2", image_size=16)
    assert {k: v.shape[1] for k, v in features.items()} == {
        "layer2": dims["layer2"],
        "embedding": 2048,
    }
