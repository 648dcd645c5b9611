"""The network normalizes its own input, with statistics that travel in the state_dict."""

import pytest
import torch

from mnemoscope import models

MEAN, STD = [0.4914, 0.4822, 0.4465], [0.2023, 0.1994, 0.2010]  # paper 001's CIFAR-10 stats


@pytest.mark.parametrize("name", ["convnet-tiny", "vit-tiny"])
def test_output_equals_same_weights_fed_pre_normalized_images(name):
    torch.manual_seed(0)
    net = models.build(name, mean=MEAN, std=STD).eval()
    plain = models.build(name).eval()
    plain.load_state_dict(net.state_dict())
    plain.normalize.mean.zero_()  # normalization disabled: (x - 0) / 1
    plain.normalize.std.fill_(1.0)
    x = torch.rand(2, 3, 32, 32)
    by_hand = (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)
    with torch.no_grad():
        torch.testing.assert_close(net(x), plain(by_hand))
        # ...and the statistics matter: feeding raw images to the disabled copy differs.
        assert not torch.allclose(net(x), plain(x), atol=1e-3)


def test_statistics_are_buffers_in_the_state_dict():
    net = models.build("convnet-tiny", mean=MEAN, std=STD)
    state = net.state_dict()
    torch.testing.assert_close(state["normalize.mean"].flatten(), torch.tensor(MEAN))
    torch.testing.assert_close(state["normalize.std"].flatten(), torch.tensor(STD))
    assert "normalize.mean" not in dict(net.named_parameters())  # not trained


def test_default_statistics_map_unit_interval_to_symmetric_range():
    net = models.build("convnet-tiny", in_channels=1)
    assert net.normalize.mean.flatten().tolist() == [0.5]
    assert net.normalize.std.flatten().tolist() == [0.5]
    torch.testing.assert_close(
        net.normalize(torch.tensor([0.0, 1.0]).view(2, 1, 1, 1)).flatten(),
        torch.tensor([-1.0, 1.0]),
    )


def test_integer_images_are_refused():
    net = models.build("convnet-tiny")
    with pytest.raises(TypeError, match="uint8"):
        net(torch.zeros(2, 3, 32, 32, dtype=torch.uint8))
