"""torchvision ResNets (and the wide ResNet-50-2) as encoders, with the CIFAR stem by default.

For small images (paper 003, appendix F; paper 001 uses ResNet-18 on CIFAR-10) the 7x7
stride-2 ``conv1`` becomes a 3x3 stride-1 conv and the max-pool is removed, so a 32x32 image
reaches ``layer4`` at 4x4 instead of 1x1. ``cifar_stem=False`` keeps the ImageNet stem (paper
003 restores the stride for 64x64 TinyImageNet). The classifier ``fc`` is dropped: the
embedding is the average-pooled ``layer4`` and the projector replaces ``fc``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torchvision
from torch import Tensor, nn

from mnemoscope.models.encoder import Encoder


class ResNetEncoder(Encoder):
    """A ``torchvision.models.ResNet`` without ``fc``; taps are its ``layer1``..``layer4``.

    The torchvision model is kept whole as ``.resnet`` (with ``fc`` an ``Identity``) so its
    parameter names stay torchvision's.
    """

    def __init__(self, resnet: torchvision.models.ResNet, in_channels: int, cifar_stem: bool):
        super().__init__()
        if cifar_stem or in_channels != 3:
            kernel, stride = (3, 1) if cifar_stem else (7, 2)
            resnet.conv1 = nn.Conv2d(in_channels, 64, kernel, stride, kernel // 2, bias=False)
            # The init torchvision gives every conv, so the new conv1 is not the odd one out.
            nn.init.kaiming_normal_(resnet.conv1.weight, mode="fan_out", nonlinearity="relu")
        if cifar_stem:
            resnet.maxpool = nn.Identity()
        self.embedding_dim = resnet.fc.in_features
        resnet.fc = nn.Identity()
        self.resnet = resnet
        self.tap_names = ("layer1", "layer2", "layer3", "layer4", "embedding")

    def forward(self, x: Tensor) -> Tensor:
        return self.resnet(x)  # fc is Identity: this is flatten(avgpool(layer4))

    def forward_taps(self, x: Tensor) -> Iterator[tuple[str, Tensor]]:
        r = self.resnet
        x = r.maxpool(r.relu(r.bn1(r.conv1(x))))
        for name in ("layer1", "layer2", "layer3", "layer4"):
            x = getattr(r, name)(x)
            yield name, x
        yield "embedding", r.avgpool(x).flatten(1)


def _resnet(
    factory: Callable[..., torchvision.models.ResNet], in_channels: int, cifar_stem: bool
) -> ResNetEncoder:
    if not isinstance(cifar_stem, bool):
        raise ValueError(f"cifar_stem must be a bool, got {cifar_stem!r}")
    return ResNetEncoder(factory(weights=None), in_channels, cifar_stem)


def resnet18(
    in_channels: int = 3, image_size: int = 32, *, cifar_stem: bool = True
) -> ResNetEncoder:
    """ResNet-18 (embedding 512), randomly initialized; works at any image size."""
    return _resnet(torchvision.models.resnet18, in_channels, cifar_stem)


def resnet50(
    in_channels: int = 3, image_size: int = 32, *, cifar_stem: bool = True
) -> ResNetEncoder:
    """ResNet-50 (embedding 2048), randomly initialized; works at any image size."""
    return _resnet(torchvision.models.resnet50, in_channels, cifar_stem)


def wide_resnet50_2(
    in_channels: int = 3, image_size: int = 32, *, cifar_stem: bool = True
) -> ResNetEncoder:
    """Wide ResNet-50-2 (Zagoruyko & Komodakis 2016, torchvision's ``wide_resnet50_2``): a
    ResNet-50 whose bottleneck blocks are twice as wide inside (embedding 2048, like
    ResNet-50's, since the block outputs keep their width). Randomly initialized."""
    return _resnet(torchvision.models.wide_resnet50_2, in_channels, cifar_stem)
