"""ViT-Tiny from timm as an encoder (paper 002 trains MAE and DINO on ViT-Tiny).

Taps: ``layer1``..``layer4`` are the token maps after blocks 3, 6, 9 and 12; ``tokens`` is
the whole final-normed token map, flattened, which is the representation paper 002 scores
memorization on (appendix A: "we concatenate the patch-based representations into one
representation vector"); ``embedding`` is the final-normed CLS token, what a linear probe
reads.
"""

from __future__ import annotations

from collections.abc import Iterator

from timm.models.vision_transformer import VisionTransformer
from torch import Tensor

from mnemoscope.models.encoder import Encoder

VIT_TINY = {"embed_dim": 192, "depth": 12, "num_heads": 3}


class ViTEncoder(Encoder):
    """A timm ``VisionTransformer`` with no head (``num_classes=0``), kept whole as ``.vit``.

    The tap blocks are spread evenly: with depth 12, ``layer{k}`` follows block ``3k``. Its
    patch grid fixes the input size (``input_size``: ``image_size`` square).
    """

    def __init__(self, vit: VisionTransformer) -> None:
        super().__init__()
        depth = len(vit.blocks)
        if depth % 4:
            raise ValueError(f"ViT depth must be a multiple of 4 to place 4 taps, got {depth}")
        self.vit = vit
        self.blocks_per_tap = depth // 4
        self.embedding_dim = vit.embed_dim
        patches = vit.patch_embed
        if patches.strict_img_size:  # timm asserts the size it was built for
            self.input_size = (int(patches.img_size[0]), int(patches.img_size[1]))
        self.tap_names = ("layer1", "layer2", "layer3", "layer4", "tokens", "embedding")

    def forward(self, x: Tensor) -> Tensor:
        return self.vit(x)  # num_classes=0: the head is Identity, this is the CLS token

    def forward_taps(self, x: Tensor) -> Iterator[tuple[str, Tensor]]:
        # timm's VisionTransformer.forward_features, one block at a time.
        v = self.vit
        x = v.norm_pre(v.patch_drop(v._pos_embed(v.patch_embed(x))))
        for i, block in enumerate(v.blocks, start=1):
            x = block(x)
            if i % self.blocks_per_tap == 0:
                yield f"layer{i // self.blocks_per_tap}", x
        x = v.norm(x)
        yield "tokens", x
        yield "embedding", v.forward_head(x, pre_logits=True)


def vit_tiny(in_channels: int = 3, image_size: int = 32, *, patch_size: int = 4) -> ViTEncoder:
    """ViT-Tiny (embed 192, depth 12, 3 heads) on ``image_size`` images cut into patches."""
    if isinstance(patch_size, bool) or not isinstance(patch_size, int) or patch_size < 1:
        raise ValueError(f"patch_size must be a positive int, got {patch_size!r}")
    if image_size % patch_size:
        raise ValueError(f"patch_size {patch_size} does not divide image_size {image_size}")
    vit = VisionTransformer(
        img_size=image_size, patch_size=patch_size, in_chans=in_channels, num_classes=0, **VIT_TINY
    )
    return ViTEncoder(vit)
