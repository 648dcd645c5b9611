"""names(), catalog() and build()'s argument checking."""

import pytest

from mnemoscope import models

from ._tap_dims import tap_dims


def test_names():
    assert models.names() == [
        "convnet-tiny",
        "convnet-small",
        "resnet18",
        "resnet50",
        "vit-tiny",
        "wide-resnet50-2",
    ]


def test_unknown_model_lists_known_names():
    with pytest.raises(ValueError, match=r"'resnet34'.*convnet-tiny.*vit-tiny"):
        models.build("resnet34")


def test_catalog_rows_describe_what_build_makes():
    rows = models.catalog()
    assert [row["name"] for row in rows] == models.names()
    for row in rows:
        net = models.build(row["name"])
        assert row["encoder_params"] == sum(p.numel() for p in net.encoder.parameters())
        assert row["embedding_dim"] == tap_dims(row["name"])["embedding"]
        assert row["taps"] == list(tap_dims(row["name"]))
        assert row["description"]


def test_catalog_counts_depend_on_channels_and_image_size():
    def params(name, **kwargs):
        return next(r for r in models.catalog(**kwargs) if r["name"] == name)["encoder_params"]

    # conv1 sees 1 channel instead of 3: 64 filters x 3x3 x 2 fewer weights.
    assert params("resnet18") - params("resnet18", in_channels=1) == 64 * 9 * 2
    # ViT's position embedding has one 192-vector per patch: 16x16 vs 8x8 patches.
    assert params("vit-tiny", image_size=64) - params("vit-tiny") == (256 - 64) * 192


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(in_channels=2), r"in_channels.*2"),
        (dict(num_outputs=0), r"num_outputs.*0"),
        (dict(projector_hidden=-1), r"projector_hidden.*-1"),
        (dict(projector_hidden=True), r"projector_hidden.*True"),
        (dict(projector_norm="layernorm"), r"projector_norm.*'layernorm'"),
        (dict(image_size=0), r"image_size.*0"),
        (dict(mean=[0.5, 0.5]), r"mean.*3.*\[0.5, 0.5\]"),
        (dict(std=[0.5, 0.0, 0.5]), r"std.*positive.*0.0"),
        (dict(widths=[8, 8, 8, 8]), r"'widths'.*convnet-tiny.*accepts: none"),
    ],
)
def test_bad_values_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        models.build("convnet-tiny", **kwargs)


def test_unknown_option_lists_accepted_options():
    with pytest.raises(ValueError, match=r"'patch_size'.*resnet18.*accepts: cifar_stem"):
        models.build("resnet18", patch_size=4)


def test_catalog_checks_its_arguments():
    with pytest.raises(ValueError, match="in_channels.*4"):
        models.catalog(in_channels=4)
