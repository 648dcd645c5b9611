"""UnitMem (Wang et al. 2024): the score on constructed means and on a hand-built network."""

import math

import pytest
import torch

from mnemoscope import models
from mnemoscope.measure.alignment import draw_views, measurement_augmentation
from mnemoscope.measure.unitmem import mean_activations, unit_activations, unitmem


def test_one_image_unit_scores_one_and_uniform_unit_scores_zero():
    means = torch.tensor([
        [0.0, 2.0, 0.0, 1.0, -1.0],
        [5.0, 2.0, 0.0, 3.0, 2.0],
        [0.0, 2.0, 0.0, 1.0, 1.0],
        [0.0, 2.0, 0.0, 1.0, 1.0],
    ])  # fmt: skip
    score, top = unitmem(means)
    assert score[0] == 1.0 and int(top[0]) == 1  # fires for image 1 only
    assert score[1] == 0.0  # fires equally for every image
    assert math.isnan(score[2])  # dead: 0 / 0
    assert score[3] == pytest.approx((3 - 1) / (3 + 1)) and int(top[3]) == 1
    assert math.isnan(score[4])  # a negative image mean: undefined in the paper's definition
    shifted, _ = unitmem(means, negative="shift")  # [-1, 2, 1, 1] + 1 = [0, 3, 2, 2]
    assert shifted[4] == pytest.approx((3 - 4 / 3) / (3 + 4 / 3))
    assert shifted[0] == 1.0 and shifted[1] == 0.0


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="N >= 2"):
        unitmem(torch.ones(1, 3))
    with pytest.raises(ValueError, match="negative='clip'"):
        unitmem(torch.ones(2, 3), negative="clip")
    with pytest.raises(ValueError, match=r"\[B, C, H, W\]"):
        unit_activations(torch.ones(2, 3, 4, 5, 6))


def _hand_built():
    network = models.build("convnet-tiny", in_channels=1, image_size=16, projector_hidden=None,
                           num_outputs=4)  # fmt: skip
    conv, norm = network.encoder.stages[0][0], network.encoder.stages[0][1]
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0] = 1.0  # channel 0: positive on bright pixels, negative on dark ones
        norm.weight[1], norm.bias[1] = 0.0, 1.0  # channel 1: constant 1 whatever the image
    return network.eval()


def test_hand_built_units_through_the_network():
    network = _hand_built()
    images = torch.zeros(4, 1, 16, 16, dtype=torch.uint8)
    images[2] = 255  # the only bright image
    means = mean_activations(network, images, ["layer1"], augment="none", views=2, seed=0)
    score, top = unitmem(means["layer1"])
    assert score[0] == 1.0 and int(top[0]) == 2  # fires for the bright image only
    assert score[1] == pytest.approx(0.0, abs=1e-12)  # fires equally for every image
    assert math.isnan(score[5])  # no weights, BatchNorm shift 0: dead on every image


def test_mean_activations_average_the_views_of_each_unit():
    torch.manual_seed(0)
    network = models.build("convnet-tiny", in_channels=1, image_size=16, num_outputs=4).eval()
    images = torch.randint(0, 256, (5, 1, 16, 16), dtype=torch.uint8)
    means = mean_activations(network, images, ["layer2", "embedding"], augment="simclr",
                             views=3, seed=7)  # fmt: skip
    views = draw_views(images, measurement_augmentation("simclr", (16, 16)), 3, seed=7)
    found = network.features(views.flatten(0, 1).float() / 255, ["layer2", "embedding"],
                             flatten=False)  # fmt: skip
    channels = found["layer2"].mean(dim=(2, 3)).view(5, 3, -1).mean(dim=1)
    torch.testing.assert_close(means["layer2"], channels.double(), rtol=1e-4, atol=1e-5)
    pooled = found["embedding"].view(5, 3, -1).mean(dim=1)
    torch.testing.assert_close(means["embedding"], pooled.double(), rtol=1e-4, atol=1e-5)
    assert means["layer2"].shape == (5, 32)
    again = mean_activations(network, images, ["layer2"], augment="simclr", views=3, seed=7)
    assert torch.equal(again["layer2"], means["layer2"])  # the seed fixes the views
