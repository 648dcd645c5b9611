"""The public contract of `get`: shapes, dtypes, ranges, randomness and errors, for every preset."""

import json

import pytest
import torch

from mnemoscope import augment
from tests.augment.helpers import make_images, seeded

ALL = augment.names()
RANDOM = [name for name in ALL if name not in ("none", "rotate")]


def test_names_lists_every_preset():
    assert set(ALL) == {
        "simclr", "benign", "weak", "none", "gaussian_noise", "rotate", "color_drop",
        "randaugment", "mask",
    }  # fmt: skip


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32, torch.float64])
def test_output_is_float32_unit_range_right_shape(name, channels, dtype):
    images = make_images(6, channels, 28)
    if dtype != torch.uint8:
        images = images.to(dtype) / 255
    views = augment.get(name, 32)(images, seeded(0))
    assert views.dtype == torch.float32
    assert views.shape == (6, channels, 32, 32)
    assert views.min() >= 0 and views.max() <= 1
    assert views.device == images.device


@pytest.mark.parametrize("name", ALL)
def test_non_square_input_and_output_size(name):
    images = make_images(4, 3, 40)[:, :, :30, :]  # 30 x 40
    views = augment.get(name, (24, 20))(images, seeded(0))
    assert views.shape == (4, 3, 24, 20)


def test_uint8_and_float_inputs_give_the_same_views():
    images = make_images(8, 3, 32)
    simclr = augment.get("simclr", 32)
    from_uint8 = simclr(images, seeded(5))
    from_float = simclr(images.float() / 255, seeded(5))
    torch.testing.assert_close(from_uint8, from_float)


@pytest.mark.parametrize("name", ALL)
def test_same_seed_same_views(name):
    images = make_images(8, 3, 32)
    aug = augment.get(name, 32)
    torch.testing.assert_close(aug(images, seeded(7)), aug(images, seeded(7)), rtol=0, atol=0)


@pytest.mark.parametrize("name", RANDOM)
def test_different_seed_different_views(name):
    images = make_images(8, 3, 32)
    aug = augment.get(name, 32)
    assert not torch.equal(aug(images, seeded(1)), aug(images, seeded(2)))


@pytest.mark.parametrize("name", ALL)
def test_global_rng_untouched(name):
    images = make_images(8, 3, 32)
    torch.manual_seed(123)
    before = torch.get_rng_state()
    augment.get(name, 32)(images, seeded(0))
    augment.get(name, 32)(images)  # generator=None must not fall back on the global RNG either
    assert torch.equal(torch.get_rng_state(), before)


@pytest.mark.parametrize("name", RANDOM)
def test_parameters_differ_within_a_batch(name):
    """One image repeated 64 times: each copy gets its own parameters, so views differ."""
    images = make_images(1, 3, 32).repeat(64, 1, 1, 1)
    views = augment.get(name, 32)(images, seeded(0))
    distinct = torch.unique(views.flatten(1), dim=0).shape[0]
    minimum = {"color_drop": 2, "weak": 30}.get(name, 50)  # colour drop has only 2 outcomes
    assert distinct >= minimum, f"{name}: only {distinct} distinct views of 64"


def test_generator_none_gives_fresh_randomness():
    images = make_images(4, 3, 32)
    simclr = augment.get("simclr", 32)
    assert not torch.equal(simclr(images), simclr(images))


def test_generator_must_be_a_cpu_generator():
    with pytest.raises(ValueError, match="generator"):
        augment.get("simclr", 32)(make_images(2, 3, 32), generator=123)


def test_does_not_modify_or_alias_input():
    images = make_images(4, 3, 32).float() / 255
    copy = images.clone()
    for name in ALL:
        views = augment.get(name, 32)(images, seeded(0))
        views += 1  # writing to the views must not reach the input
    assert torch.equal(images, copy)


def test_params_are_resolved_and_serialisable():
    simclr = augment.get("simclr", 32, crop_scale=(0.2, 1.0))
    assert simclr.name == "simclr"
    assert simclr.params["crop_scale"] == [0.2, 1.0]
    assert simclr.params["jitter"] == [0.4, 0.4, 0.4, 0.1]
    assert simclr.params["blur_kernel"] == 3  # 10% of 32, made odd
    json.dumps(simclr.params)
    # the recorded params rebuild the same augmentation
    again = augment.get("simclr", 32, **simclr.params)
    images = make_images(4, 3, 32)
    torch.testing.assert_close(simclr(images, seeded(3)), again(images, seeded(3)))


def test_parameters_lists_defaults():
    assert augment.parameters("gaussian_noise") == {"std": 0.2}
    assert augment.parameters("rotate") == {"degrees": 90.0}
    assert augment.parameters("color_drop") == {"p": 0.25}
    assert augment.parameters("mask") == {"ratio": 0.75, "patch": 4}
    assert augment.parameters("randaugment") == {"strength": 9, "num_ops": 2}
    assert augment.parameters("weak") == {"pad": 4, "flip_p": 0.5}
    assert augment.parameters("benign")["jitter"] == (0.8, 0.8, 0.8, 0.2)
    assert augment.parameters("benign")["blur_p"] == 0.0


def test_unknown_name_is_named_with_choices():
    with pytest.raises(ValueError, match=r"'simclrr'.*benign.*simclr"):
        augment.get("simclrr", 32)


def test_unknown_parameter_is_named_with_allowed():
    with pytest.raises(ValueError, match=r"'blurp'.*'simclr'.*blur_p"):
        augment.get("simclr", 32, blurp=0.3)
    with pytest.raises(ValueError, match=r"'std'.*'none'"):
        augment.get("none", 32, std=0.1)


@pytest.mark.parametrize(
    ("name", "params", "named"),
    [
        ("simclr", {"crop_scale": (0.0, 1.0)}, "crop_scale"),
        ("simclr", {"crop_scale": (0.5, 1.2)}, "crop_scale"),
        ("simclr", {"crop_scale": (0.9, 0.5)}, "crop_scale"),
        ("simclr", {"crop_ratio": (-1.0, 1.0)}, "crop_ratio"),
        ("simclr", {"flip_p": 1.5}, "flip_p"),
        ("simclr", {"jitter_p": -0.1}, "jitter_p"),
        ("simclr", {"grey_p": 2}, "grey_p"),
        ("simclr", {"blur_p": float("nan")}, "blur_p"),
        ("simclr", {"jitter": (0.4, 0.4, 0.4)}, "jitter"),
        ("simclr", {"jitter": (0.4, -0.4, 0.4, 0.1)}, "jitter"),
        ("simclr", {"jitter": (0.4, 0.4, 0.4, 0.7)}, "jitter"),
        ("simclr", {"blur_kernel": 4}, "blur_kernel"),
        ("benign", {"blur_sigma": (0.0, 1.0)}, "blur_sigma"),
        ("gaussian_noise", {"std": -0.2}, "std"),
        ("mask", {"ratio": 1.0}, "ratio"),
        ("mask", {"ratio": -0.1}, "ratio"),
        ("mask", {"patch": 0}, "patch"),
        ("color_drop", {"p": 1.01}, "p"),
        ("weak", {"pad": -1}, "pad"),
        ("randaugment", {"strength": 31}, "strength"),
        ("randaugment", {"num_ops": 1.5}, "num_ops"),
        ("rotate", {"degrees": "ninety"}, "degrees"),
    ],
)
def test_bad_values_are_named(name, params, named):
    (value,) = params.values()
    with pytest.raises(ValueError, match=named) as error:
        augment.get(name, 32, **params)
    assert repr(value) in str(error.value)


@pytest.mark.parametrize("size", [0, -3, (32,), (32, 0), 32.0, True])
def test_bad_size(size):
    with pytest.raises(ValueError, match="size"):
        augment.get("simclr", size)


@pytest.mark.parametrize(
    "images",
    [torch.zeros(2, 2, 8, 8), torch.zeros(2, 8, 8), torch.zeros(2, 3, 8, 8, dtype=torch.int32)],
)
def test_bad_images(images):
    with pytest.raises(ValueError, match="images"):
        augment.get("simclr", 8)(images, seeded(0))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", ALL)
def test_same_views_on_cuda_as_on_cpu(name):
    images = make_images(16, 3, 32)
    aug = augment.get(name, 32)
    on_cpu = aug(images, seeded(4))
    on_cuda = aug(images.cuda(), seeded(4))
    assert on_cuda.device.type == "cuda"
    # same parameters; only float rounding of the kernels differs (posterize/equalize bin edges
    # can flip a level, hence the loose atol on the mean)
    assert (on_cuda.cpu() - on_cpu).abs().mean() < 1e-3
