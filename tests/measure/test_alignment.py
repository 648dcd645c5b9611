"""SSLMem's eq. 1 and 2 (mnemoscope.measure.alignment) on encoders of known memorization."""

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mnemoscope import models
from mnemoscope.measure.alignment import (
    VIEW_BLOCK,
    alignment_losses,
    alignment_losses_by_tap,
    center_alignment,
    draw_views,
    measurement_augmentation,
    memorization_score,
    normalize_scores,
    pair_distance,
    resolve_tap,
    score,
)

SIDE = 16
LEVEL_STEP = 12  # grey levels of the flat test images are 12 apart


def flat_images(count: int) -> torch.Tensor:
    """Flat grey 1 x 16 x 16 images, one level each (48, 60, 72, ...): the image mean identifies
    the image even after mild Gaussian noise."""
    levels = 48 + LEVEL_STEP * torch.arange(count)
    assert int(levels.max()) < 220
    return levels.view(-1, 1, 1, 1).expand(-1, 1, SIDE, SIDE).to(torch.uint8).contiguous()


class Pixels(nn.Module):
    """An encoder that never aligns views beyond what the pixels share: the flattened image."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)


class Collapse(nn.Module):
    """An encoder that has "memorized" chosen images: every view of one of them maps to the same
    code (alignment loss 0), every other image to its pixels, like ``Pixels``."""

    def __init__(self, chosen_levels: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("chosen", chosen_levels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.flatten(1)
        level = torch.round(flat.mean(1) * 255 / LEVEL_STEP).long()
        code = F.one_hot(level, flat.shape[1]).float()
        hit = torch.isin(level, torch.round(self.chosen / LEVEL_STEP).long())
        return torch.where(hit[:, None], code, flat)


NOISE = {"name": "gaussian_noise", "params": {"std": 0.05}}


def small_network(seed: int) -> models.Network:
    torch.manual_seed(seed)
    return models.build("convnet-tiny", in_channels=1, num_outputs=16, image_size=28).eval()


@pytest.fixture(scope="module")
def fmnist_images():
    from mnemoscope import data

    return data.load("fmnist-mini").train.images[:40]


def test_collapsed_points_score_positive_and_the_rest_exactly_zero():
    images = flat_images(12)
    chosen = torch.tensor([0, 3, 7])
    f = Collapse((48 + LEVEL_STEP * chosen).float())
    result = score([f], [Pixels()], images, augment=NOISE, pairs=3)
    memorized = np.zeros(12, dtype=bool)
    memorized[chosen.numpy()] = True
    # f aligns the chosen images perfectly, g does not: m > 0 there (eq. 2's sign convention).
    np.testing.assert_array_equal(result.align_f[0, memorized], 0.0)
    assert (result.align_g[0, memorized] > 0).all()
    assert (result.raw[memorized] > 0).all()
    # Elsewhere f and g are the same function of the same views (common random numbers): m = 0.
    np.testing.assert_array_equal(result.raw[~memorized], 0.0)
    # Swapping the roles flips the sign: memorization "on g" is negative.
    swapped = score([Pixels()], [f], images, augment=NOISE, pairs=3)
    np.testing.assert_allclose(swapped.raw, -result.raw)


def test_expectation_over_encoders_averages_each_side():
    images = flat_images(8)
    f_one = Collapse(torch.tensor([48.0]))
    both = score([f_one, Pixels()], [Pixels(), Pixels()], images, augment=NOISE, pairs=2)
    single = score([f_one], [Pixels()], images, augment=NOISE, pairs=2)
    # Half the f encoders memorized image 0: its score is half the single-encoder one.
    np.testing.assert_allclose(both.raw, single.raw / 2)


def test_identical_encoders_score_exactly_zero_thanks_to_common_views(fmnist_images):
    network = small_network(0)
    twin = copy.deepcopy(network)
    result = score([network], [twin], fmnist_images, pairs=2)
    assert (result.align_f > 0).all()
    np.testing.assert_array_equal(result.raw, 0.0)


def per_image_alignment(encoder, images, augmentation, pairs, seed, reference, distance):
    """Eq. 1 one image and one view at a time (as the authors' scorer), on the same views."""
    values = []
    views_per_image = 2 * pairs if reference == "views" else pairs
    for block_start in range(0, len(images), VIEW_BLOCK):
        block = images[block_start : block_start + VIEW_BLOCK]
        views = draw_views(block, augmentation, views_per_image, seed, block_start // VIEW_BLOCK)
        for index in range(len(block)):
            reps = [
                F.normalize(encoder.embed(view[None].float() / 255), dim=1) for view in views[index]
            ]
            if reference == "views":
                pairs_of_reps = list(zip(reps[0::2], reps[1::2], strict=True))
            else:
                clean = F.normalize(encoder.embed(block[index][None].float() / 255), dim=1)
                pairs_of_reps = [(clean, rep) for rep in reps]
            values.append(np.mean([pair_distance(u, v, distance).item() for u, v in pairs_of_reps]))
    return np.array(values)


@pytest.mark.parametrize(
    ("reference", "distance"), [("views", "l2"), ("clean", "l2"), ("views", "angular")]
)
def test_batched_equals_one_image_at_a_time(fmnist_images, reference, distance):
    network = small_network(1)
    augmentation = measurement_augmentation("simclr", 28)
    batched = alignment_losses(
        [network], fmnist_images, augment=augmentation, pairs=2, reference=reference,
        distance=distance, seed=5, batch_size=7, tap="embedding",
    )  # fmt: skip
    expected = per_image_alignment(network, fmnist_images, augmentation, 2, 5, reference, distance)
    np.testing.assert_allclose(batched[0].numpy(), expected, rtol=1e-4, atol=1e-5)


def test_views_depend_on_seed_only(fmnist_images):
    networks = [small_network(2), small_network(3)]
    first = alignment_losses(networks, fmnist_images, pairs=2, seed=1, batch_size=512)
    again = alignment_losses(networks, fmnist_images, pairs=2, seed=1, batch_size=9)
    other = alignment_losses(networks, fmnist_images, pairs=2, seed=2)
    torch.testing.assert_close(first, again, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(first, other)
    # each encoder is scored on its own: the result for one is the same alone or in company
    alone = alignment_losses(networks[1:], fmnist_images, pairs=2, seed=1)
    torch.testing.assert_close(first[1:], alone, rtol=1e-5, atol=1e-6)


def test_angular_is_a_monotone_function_of_l2_for_one_pair(fmnist_images):
    network = small_network(4)
    l2 = alignment_losses([network], fmnist_images, pairs=1, distance="l2")[0]
    angular = alignment_losses([network], fmnist_images, pairs=1, distance="angular")[0]
    # unit vectors at angle theta: ||u - v|| = 2 sin(theta / 2); angular distance = theta / pi
    torch.testing.assert_close(angular, 2 * torch.arcsin(l2 / 2) / math.pi, rtol=1e-4, atol=1e-5)
    assert (angular >= 0).all() and (angular <= 1).all() and (l2 <= 2).all()


def test_taps_are_read_from_networks_and_outputs_from_other_modules(fmnist_images):
    network = small_network(5)
    auto = alignment_losses([network], fmnist_images, pairs=1, tap="auto")
    layer4 = alignment_losses([network], fmnist_images, pairs=1, tap="layer4")
    embedding = alignment_losses([network], fmnist_images, pairs=1, tap="embedding")
    layer2 = alignment_losses([network], fmnist_images, pairs=1, tap="layer2")
    # appendix A: the full representation, i.e. the last feature map before pooling
    torch.testing.assert_close(auto, layer4)
    assert not torch.allclose(layer4, embedding)
    assert not torch.allclose(layer2, embedding)
    with pytest.raises(ValueError, match="unknown tap 'layer9'"):
        alignment_losses([network], fmnist_images, pairs=1, tap="layer9")
    with pytest.raises(ValueError, match="needs a mnemoscope Network"):
        alignment_losses([Pixels()], fmnist_images, pairs=1, tap="embedding")


def test_eval_mode_is_used_and_restored(fmnist_images):
    network = small_network(6).train()
    running_mean = network.encoder.stages[0][1].running_mean.clone()
    alignment_losses([network], fmnist_images, pairs=1)
    assert network.training
    torch.testing.assert_close(network.encoder.stages[0][1].running_mean, running_mean)


def test_deterministic_augmentation_needs_a_clean_reference(fmnist_images):
    network = small_network(7)
    with pytest.raises(ValueError, match="identical views"):
        alignment_losses([network], fmnist_images, augment="rotate", pairs=1)
    rotated = alignment_losses([network], fmnist_images, augment="rotate", reference="clean")
    assert (rotated > 0).all()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [("pairs", 0, "pairs=0"), ("distance", "cosine", "distance='cosine'"),
     ("reference", "both", "reference='both'"), ("seed", -1, "seed=-1")],
)  # fmt: skip
def test_bad_options_are_refused_before_work(fmnist_images, option, value, message):
    with pytest.raises(ValueError, match=message):
        alignment_losses([Pixels()], fmnist_images, **{option: value})


def test_normalization_bounds_and_signs():
    raw = np.array([-0.3, -0.1, 0.0, 0.05, 0.5])
    normalized = normalize_scores(raw)
    assert normalized.max() - normalized.min() == pytest.approx(1.0)
    # scores of both signs: the normalized ones lie in [-1, 1], with the signs unchanged
    assert (np.abs(normalized) <= 1).all()
    np.testing.assert_array_equal(np.sign(normalized), np.sign(raw))
    np.testing.assert_allclose(normalized, raw / 0.8)
    np.testing.assert_array_equal(normalize_scores(np.full(4, 0.2)), 0.0)


def test_shared_centering_removes_per_encoder_offsets():
    rng = np.random.default_rng(0)
    base = rng.uniform(0.2, 0.4, size=(1, 30))
    memorized = np.zeros(30)
    memorized[:5] = 0.05  # f aligns the first five points better
    align_f = base - memorized + np.array([[0.03], [0.05]])  # per-seed offsets of the f side
    align_g = base + np.array([[-0.02], [0.01]])
    shared = np.arange(10, 30)
    plain = memorization_score(align_f, align_g)
    centered = memorization_score(align_f, align_g, center="shared", shared=shared)
    assert plain[shared].mean() == pytest.approx(-0.045)  # the offsets, not memorization
    assert centered[shared].mean() == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(centered[:5], 0.05)
    # centering shifts every score by the same constant: differences between points stay
    np.testing.assert_allclose(centered - plain, (centered - plain)[0])
    mask = np.zeros(30, dtype=bool)
    mask[shared] = True
    np.testing.assert_allclose(center_alignment(align_f, mask), center_alignment(align_f, shared))
    with pytest.raises(ValueError, match="needs `shared`"):
        memorization_score(align_f, align_g, center="shared")


def test_auto_tap_is_the_encoders_full_output_before_pooling():
    for arch, expected in [("convnet-tiny", "layer4"), ("resnet18", "layer4"),
                           ("vit-tiny", "tokens")]:  # fmt: skip
        with torch.device("meta"):
            network = models.build(arch, in_channels=1, num_outputs=8, image_size=32)
        assert resolve_tap(network, "auto") == expected, arch


def test_several_taps_in_one_pass_equal_each_tap_alone(fmnist_images):
    network = small_network(8)
    both = alignment_losses_by_tap(
        [network], fmnist_images, ["embedding", "output"], pairs=2, seed=3
    )
    for tap in ("embedding", "output"):
        alone = alignment_losses([network], fmnist_images, pairs=2, seed=3, tap=tap)
        torch.testing.assert_close(both[tap], alone)
    with pytest.raises(ValueError, match="distinct tap names"):
        alignment_losses_by_tap([network], fmnist_images, ["output", "output"])


def test_bf16_precision_is_close_to_fp32_but_not_equal(fmnist_images):
    network = small_network(9)
    fp32 = alignment_losses([network], fmnist_images, pairs=2, tap="embedding")
    bf16 = alignment_losses([network], fmnist_images, pairs=2, tap="embedding", precision="bf16")
    assert not torch.equal(fp32, bf16)
    torch.testing.assert_close(bf16, fp32, rtol=0, atol=0.05)
    with pytest.raises(ValueError, match="precision='fp16'"):
        alignment_losses([network], fmnist_images, precision="fp16")


def test_per_pair_distances_average_to_eq1_and_further_draws_are_new_views(fmnist_images):
    networks = [small_network(6), small_network(7)]
    mean = alignment_losses(networks, fmnist_images, pairs=3, seed=4)
    per_pair = alignment_losses(networks, fmnist_images, pairs=3, seed=4, per_pair=True)
    assert per_pair.shape == (2, len(fmnist_images), 3)
    torch.testing.assert_close(per_pair.mean(dim=2), mean, rtol=1e-12, atol=0)
    later = alignment_losses(networks, fmnist_images, pairs=3, seed=4, per_pair=True, draw=1)
    assert not torch.allclose(later, per_pair)  # draw 1: other views of the same images
    again = alignment_losses(networks, fmnist_images, pairs=3, seed=4, per_pair=True, draw=1)
    torch.testing.assert_close(later, again, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="draw=-1 is invalid"):
        alignment_losses(networks, fmnist_images, draw=-1)
    # a list of draws: draw 0's 3 pairs, then draw 1's 3 (what pairs: auto records)
    both = alignment_losses(networks, fmnist_images, pairs=[3, 3], seed=4, per_pair=True)
    torch.testing.assert_close(both, torch.cat([per_pair, later], dim=2), rtol=1e-5, atol=1e-6)
    mean = alignment_losses(networks, fmnist_images, pairs=[3, 3], seed=4)
    torch.testing.assert_close(mean, both.mean(dim=2), rtol=1e-12, atol=0)


def port_of_the_authors_scorer(f, g, images, views):
    """The arithmetic of the authors' ``memorization_scores.py``, one image and one view at a
    time: per view, both encoders read the clean image and the view; each full representation
    is flattened and l2-normalized; their l2 distance is averaged over the views; the score is
    the (not trained on it) encoder's mean minus the (trained on it) encoder's, divided by the
    range of those differences. Here on [0, 1] pixels (the fixed bug) and given views."""

    def full(encoder, image):  # what their MAE encoder returns: every token, flattened
        tap = resolve_tap(encoder, "auto")
        return F.normalize(encoder.features(image[None].float() / 255, [tap])[tap].flatten(), dim=0)

    prob_g, prob_f = [], []
    with torch.no_grad():
        for image, image_views in zip(images, views, strict=True):
            dist_g, dist_f = [], []
            for view in image_views:
                dist_g.append(np.linalg.norm((full(g, image) - full(g, view)).numpy()))
                dist_f.append(np.linalg.norm((full(f, image) - full(f, view)).numpy()))
            prob_g.append(np.mean(dist_g))
            prob_f.append(np.mean(dist_f))
    difference = np.array(prob_g) - np.array(prob_f)
    return difference, difference / (difference.max() - difference.min())


def test_authors_scorer_with_the_range_bug_fixed_equals_the_port(fmnist_images):
    from mnemoscope.measure.alignment import SCORERS

    f, g = small_network(8), small_network(9)
    images = fmnist_images[:12]
    options = SCORERS["authors-fixed"]
    assert options == {"reference": "clean", "augment": "benign"}
    result = score([f], [g], images, pairs=5, seed=3, **options)
    # the fixed set of views the scorer drew: their augmentation (benign preset), 5 per image
    views = draw_views(images, measurement_augmentation("benign", 28), 5, seed=3)
    raw, normalized = port_of_the_authors_scorer(f, g, images, views)
    np.testing.assert_allclose(result.raw, raw, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(result.normalized, normalized, rtol=1e-4, atol=1e-5)
    # the preset is their transform: RandomResizedCrop(32) (area 0.08-1), flip, ColorJitter(
    # 0.8, 0.8, 0.8, 0.2) with p = 0.8, RandomGrayscale(p = 0.2), no blur
    params = measurement_augmentation("benign", 28).params
    assert params["crop_scale"] == [0.08, 1.0] and params["flip_p"] == 0.5
    assert params["jitter"] == [0.8, 0.8, 0.8, 0.2] and params["jitter_p"] == 0.8
    assert params["grey_p"] == 0.2 and params["blur_p"] == 0.0
