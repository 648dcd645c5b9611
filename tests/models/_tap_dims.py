"""Tap widths worked out by hand from each architecture, so tests never read them back.

A tap's width is channels x height x width of the activation, or tokens x embed dim.
"""

CONVNET_WIDTHS = {"convnet-tiny": (16, 32, 64, 128), "convnet-small": (32, 64, 128, 256)}
# BasicBlock vs Bottleneck (the wide ResNet widens inside its bottlenecks, not their outputs)
RESNET_EXPANSION = {"resnet18": 1, "resnet50": 4, "wide-resnet50-2": 4}
VIT_TINY_DIM = 192


def tap_dims(
    name: str,
    image_size: int = 32,
    *,
    projector_hidden: int | None = 512,
    num_outputs: int = 10,
    cifar_stem: bool = True,
    patch_size: int = 4,
) -> dict[str, int]:
    s = image_size
    if name in CONVNET_WIDTHS:
        widths = CONVNET_WIDTHS[name]
        sides = (s // 2, s // 4, s // 8, s // 8)  # 2x2 max-pool closes stages 1-3 only
        embedding = widths[3]
    elif name in RESNET_EXPANSION:
        widths = tuple(c * RESNET_EXPANSION[name] for c in (64, 128, 256, 512))
        first = s if cifar_stem else s // 4  # ImageNet stem: stride-2 conv1 and max-pool
        sides = (first, first // 2, first // 4, first // 8)
        embedding = widths[3]
    elif name == "vit-tiny":
        tokens = (s // patch_size) ** 2 + 1  # patches + CLS
        dims = {f"layer{i}": tokens * VIT_TINY_DIM for i in range(1, 5)}
        dims["tokens"] = tokens * VIT_TINY_DIM
        widths, sides, embedding = (), (), VIT_TINY_DIM
    else:
        raise AssertionError(name)
    if widths:
        dims = {f"layer{i + 1}": widths[i] * sides[i] ** 2 for i in range(4)}
    dims["embedding"] = embedding
    if projector_hidden:
        dims["projector_hidden"] = projector_hidden
    dims["output"] = num_outputs
    return dims
