"""timm ViT-Tiny: block taps, the token map of paper 002 appendix A, and the CLS embedding."""

import pytest
import torch

from mnemoscope import models

from ._tap_dims import tap_dims


@pytest.fixture(scope="module")
def vit():
    torch.manual_seed(0)
    return models.build("vit-tiny").eval()


def test_is_vit_tiny(vit):
    v = vit.encoder.vit
    assert (v.embed_dim, len(v.blocks), v.blocks[0].attn.num_heads) == (192, 12, 3)
    assert v.patch_embed.patch_size == (4, 4)
    assert v.num_classes == 0


def test_layer_taps_follow_blocks_3_6_9_12(vit):
    captured = {}
    handles = [
        vit.encoder.vit.blocks[block - 1].register_forward_hook(
            lambda _m, _i, out, k=k: captured.__setitem__(f"layer{k}", out.flatten(1))
        )
        for k, block in enumerate((3, 6, 9, 12), start=1)
    ]
    try:
        with torch.no_grad():
            features = vit.features(
                torch.rand(2, 3, 32, 32), ["layer1", "layer2", "layer3", "layer4"]
            )
    finally:
        for handle in handles:
            handle.remove()
    assert features.keys() == captured.keys()
    for name, value in features.items():
        assert torch.equal(value, captured[name]), name


def test_tokens_are_the_normed_token_map_and_embedding_its_cls_token(vit):
    with torch.no_grad():
        f = vit.features(torch.rand(2, 3, 32, 32), ["layer4", "tokens", "embedding"])
        normed = vit.encoder.vit.norm(f["layer4"].view(2, 65, 192))
    torch.testing.assert_close(f["tokens"], normed.flatten(1), rtol=0, atol=0)
    assert torch.equal(f["embedding"], f["tokens"][:, :192])  # CLS comes first


def test_layer1_alone_runs_three_blocks(vit):
    ran = []
    handles = [
        block.register_forward_pre_hook(lambda *_, i=i: ran.append(i))
        for i, block in enumerate(vit.encoder.vit.blocks, start=1)
    ]
    try:
        vit.features(torch.rand(2, 3, 32, 32), ["layer1"])
    finally:
        for handle in handles:
            handle.remove()
    assert ran == [1, 2, 3]


@pytest.mark.parametrize("image_size, patch_size", [(28, 4), (32, 8)])
def test_patch_grid_sets_token_count(image_size, patch_size):
    net = models.build("vit-tiny", image_size=image_size, patch_size=patch_size, in_channels=1)
    with torch.no_grad():
        features = net.eval().features(torch.rand(2, 1, image_size, image_size), net.tap_names)
    expected = tap_dims("vit-tiny", image_size, patch_size=patch_size)
    assert {k: tuple(v.shape) for k, v in features.items()} == {
        k: (2, d) for k, d in expected.items()
    }


@pytest.mark.parametrize("patch_size", [5, 0, 2.0])
def test_bad_patch_size_is_named(patch_size):
    with pytest.raises(ValueError, match=f"patch_size.*{patch_size}"):
        models.build("vit-tiny", patch_size=patch_size)
