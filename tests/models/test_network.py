"""Network behaviour shared by every model: taps, forward/features/embed agreement, rebuilds."""

import json

import pytest
import torch

from mnemoscope import models

from ._tap_dims import tap_dims

ALL_MODELS = ["convnet-tiny", "convnet-small", "resnet18", "resnet50", "vit-tiny"]


@pytest.fixture(scope="module", params=ALL_MODELS)
def net(request):
    torch.manual_seed(0)
    return models.build(request.param).eval()


@pytest.fixture(scope="module")
def images():
    return torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))


def test_every_tap_has_the_width_the_architecture_implies(net, images):
    expected = tap_dims(net.arch)
    assert net.tap_names == tuple(expected)
    features = net.features(images, net.tap_names)
    assert {name: tuple(f.shape) for name, f in features.items()} == {
        name: (2, dim) for name, dim in expected.items()
    }
    assert net.embedding_dim == expected["embedding"]
    assert net.num_outputs == 10


def test_output_tap_is_forward(net, images):
    with torch.no_grad():
        assert torch.equal(net.features(images, ["output"])["output"], net(images))


def test_embedding_tap_is_embed(net, images):
    with torch.no_grad():
        assert torch.equal(net.features(images, ["embedding"])["embedding"], net.embed(images))


def test_several_taps_in_one_pass_equal_separate_calls(net, images):
    taps = ["output", "layer2", "embedding", "projector_hidden"]  # deliberately out of order
    with torch.no_grad():
        together = net.features(images, taps)
        assert list(together) == taps  # the caller's order
        for name in taps:
            assert torch.equal(together[name], net.features(images, [name])[name]), name


def test_features_stop_after_the_last_requested_tap(net, images):
    calls = []
    handle = net.projector.register_forward_pre_hook(lambda *_: calls.append("projector"))
    hidden = net.projector.layers[0].register_forward_pre_hook(lambda *_: calls.append("hidden"))
    try:
        with torch.no_grad():
            net.features(images, ["layer1", "embedding"])
            assert calls == []  # the projector never ran
            net.features(images, ["projector_hidden"])
            assert calls == ["hidden"]
    finally:
        handle.remove()
        hidden.remove()


def test_unknown_tap_is_named_with_the_model_taps(net, images):
    with pytest.raises(ValueError, match=r"'layer5'.*layer1, layer2, layer3, layer4"):
        net.features(images, ["embedding", "layer5"])


def test_a_string_is_not_taken_for_a_list_of_taps(net, images):
    with pytest.raises(TypeError, match=r"\['embedding'\]"):
        net.features(images, "embedding")


def test_no_taps_gives_an_empty_dict(net, images):
    assert net.features(images, []) == {}


def test_config_is_json_and_rebuilds_the_same_architecture(net):
    config = json.loads(json.dumps(net.config))
    assert config["name"] == net.arch
    rebuilt = models.build(**config)
    shapes = {k: v.shape for k, v in net.state_dict().items()}
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == shapes
    assert rebuilt.tap_names == net.tap_names


@pytest.mark.parametrize(
    "name, options",
    [
        ("convnet-tiny", dict(in_channels=1, projector_hidden=None, num_outputs=3)),
        ("resnet18", dict(cifar_stem=False, projector_norm="none", mean=[0.1, 0.2, 0.3])),
        ("vit-tiny", dict(patch_size=8, image_size=16, projector_hidden=64, num_outputs=128)),
    ],
)
def test_non_default_config_round_trips(name, options):
    net = models.build(name, **options)
    rebuilt = models.build(**json.loads(json.dumps(net.config)))
    assert rebuilt.config == net.config
    shapes = {k: v.shape for k, v in net.state_dict().items()}
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == shapes
    # A checkpoint loads into the rebuilt network and computes the same function.
    rebuilt.load_state_dict(net.state_dict())
    x = torch.rand(2, options.get("in_channels", 3), *(2 * [options.get("image_size", 32)]))
    with torch.no_grad():
        torch.testing.assert_close(rebuilt.eval()(x), net.eval()(x), rtol=0, atol=0)


@pytest.mark.parametrize("name", ALL_MODELS)
def test_grayscale_input(name):
    net = models.build(name, in_channels=1).eval()
    x = torch.rand(2, 1, 32, 32)
    with torch.no_grad():
        features = net.features(x, ["layer1", "embedding", "output"])
    expected = tap_dims(name)
    assert {k: tuple(v.shape) for k, v in features.items()} == {
        k: (2, expected[k]) for k in ("layer1", "embedding", "output")
    }
    assert net.normalize.mean.shape == (1, 1, 1, 1)


@pytest.mark.parametrize("name", ALL_MODELS)
def test_channels_last_and_bfloat16_autocast(name):
    net = models.build(name).to(memory_format=torch.channels_last)
    x = torch.rand(2, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        features = net.features(x, ["layer1", "embedding", "output"])
        out = net(x)
    assert out.shape == (2, 10) and out.dtype == torch.bfloat16
    assert features["output"].dtype == torch.bfloat16  # as computed, not cast back
    assert features["layer1"].shape == (2, tap_dims(name)["layer1"])
    out.float().sum().backward()  # trains in this mode too
    assert all(p.grad is not None for p in net.encoder.parameters() if p.requires_grad)
