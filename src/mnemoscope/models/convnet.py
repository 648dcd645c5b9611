"""Small plain convnets: fast on a CPU, the demo defaults.

Four stages of conv3x3-BatchNorm-ReLU; stages 1-3 end in a 2x2 max-pool, so a 32x32 image
shrinks 32 -> 16 -> 8 -> 4 (28x28: 28 -> 14 -> 7 -> 3), and a global average pool turns the
last stage into the embedding. In the spirit of airbench's CIFAR-10 nets, minus the tricks:
these exist to make memorization measurements cheap, not to win accuracy.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from torch import Tensor, nn

from mnemoscope.models.encoder import Encoder

CONVNET_TINY_WIDTHS = (16, 32, 64, 128)
CONVNET_SMALL_WIDTHS = (32, 64, 128, 256)


def conv_bn_relu(in_channels: int, out_channels: int) -> list[nn.Module]:
    # No conv bias: BatchNorm's shift makes it redundant.
    return [
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    ]


class ConvNet(Encoder):
    """Plain 4-stage convnet; taps ``layer1``..``layer4`` are the stage outputs (after pooling).

    Args:
        widths: output channels of the four stages.
        in_channels: image channels (1 or 3).
    """

    def __init__(self, widths: Sequence[int], in_channels: int = 3) -> None:
        super().__init__()
        if len(widths) != 4:
            raise ValueError(f"ConvNet has 4 stages, got widths {list(widths)}")
        stages = []
        for i, width in enumerate(widths):
            layers = conv_bn_relu(widths[i - 1] if i else in_channels, width)
            if i < len(widths) - 1:
                layers.append(nn.MaxPool2d(2))
            stages.append(nn.Sequential(*layers))
        self.stages = nn.ModuleList(stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.tap_names = ("layer1", "layer2", "layer3", "layer4", "embedding")
        self.embedding_dim = widths[-1]

    def forward(self, x: Tensor) -> Tensor:
        for stage in self.stages:
            x = stage(x)
        return self.pool(x).flatten(1)

    def forward_taps(self, x: Tensor) -> Iterator[tuple[str, Tensor]]:
        for i, stage in enumerate(self.stages, start=1):
            x = stage(x)
            yield f"layer{i}", x
        yield "embedding", self.pool(x).flatten(1)


def convnet_tiny(in_channels: int = 3, image_size: int = 32) -> ConvNet:
    """Widths 16/32/64/128, embedding 128 (~0.1M parameters). Any image size >= 8 works."""
    return ConvNet(CONVNET_TINY_WIDTHS, in_channels)


def convnet_small(in_channels: int = 3, image_size: int = 32) -> ConvNet:
    """Widths 32/64/128/256, embedding 256 (~0.4M parameters). Any image size >= 8 works."""
    return ConvNet(CONVNET_SMALL_WIDTHS, in_channels)
