"""Per-sample RandAugment against torchvision's RandAugment operations."""

import pytest
import torch
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as TF

from mnemoscope import augment
from mnemoscope.augment.randaugment import OPERATIONS, SIGNED, RandAugment, operation_magnitude
from tests.augment.helpers import make_images, seeded


def torchvision_operation(image, name, magnitude):
    """torchvision v2 RandAugment's op ``name`` at a signed ``magnitude`` (float image)."""
    nearest = InterpolationMode.NEAREST
    if name == "translate_x":
        return TF.affine(image, 0.0, [int(magnitude), 0], 1.0, [0.0, 0.0], nearest)
    if name == "translate_y":
        return TF.affine(image, 0.0, [0, int(magnitude)], 1.0, [0.0, 0.0], nearest)
    return {
        "identity": lambda: image,
        "brightness": lambda: TF.adjust_brightness(image, 1.0 + magnitude),
        "color": lambda: TF.adjust_saturation(image, 1.0 + magnitude),
        "contrast": lambda: TF.adjust_contrast(image, 1.0 + magnitude),
        "sharpness": lambda: TF.adjust_sharpness(image, 1.0 + magnitude),
        "solarize": lambda: TF.solarize(image, magnitude),
        "autocontrast": lambda: TF.autocontrast(image),
        "posterize": lambda: (
            TF.posterize((image * 255).round().to(torch.uint8), int(magnitude)).float().div(255)
        ),
        "equalize": lambda: TF.equalize((image * 255).round().to(torch.uint8)).float().div(255),
    }[name]()


COMPARED = ["identity", "translate_x", "translate_y", "brightness", "color", "contrast",
            "sharpness", "solarize", "autocontrast", "posterize", "equalize"]  # fmt: skip


@pytest.mark.parametrize("strength", [5, 15])
def test_operations_match_torchvision(strength):
    images = make_images(300, 3, 16).float() / 255  # on the uint8 grid, as posterize needs
    stage = RandAugment(num_ops=1, strength=strength)
    params = stage.sample(300, (3, 16, 16), seeded(0))
    views = stage.apply(images.clone(), params)
    checked = set()
    for i in range(300):
        name = OPERATIONS[params["operations"][i, 0]]
        if name not in COMPARED:
            continue
        magnitude = operation_magnitude(name, strength, 16, 16)
        if name in SIGNED and params["negate"][i, 0]:
            magnitude = -magnitude
        expected = torchvision_operation(images[i], name, magnitude)
        torch.testing.assert_close(views[i], expected, atol=2e-4, rtol=0, msg=name)
        checked.add(name)
    assert checked == set(COMPARED)


def test_operations_and_signs_are_drawn_per_sample():
    params = RandAugment(num_ops=2, strength=9).sample(7000, (3, 8, 8), seeded(0))
    counts = torch.bincount(params["operations"].flatten(), minlength=len(OPERATIONS))
    assert (counts - 1000).abs().max() < 150  # uniform over the 14 operations
    assert abs(params["negate"].float().mean().item() - 0.5) < 0.02


def test_every_operation_changes_a_structured_image():
    images = make_images(1, 3, 16).float().div(255).repeat(len(OPERATIONS), 1, 1, 1)
    stage = RandAugment(num_ops=1, strength=20)
    operations = torch.arange(len(OPERATIONS))[:, None]
    params = {"operations": operations, "negate": torch.zeros(len(OPERATIONS), 1, dtype=bool)}
    views = stage.apply(images.clone(), params)
    changed = (views - images).abs().flatten(1).amax(dim=1) > 1e-3
    assert changed.tolist() == [name != "identity" for name in OPERATIONS]


def test_num_ops_zero_is_identity_and_strength_is_recorded():
    images = make_images(4, 3, 16)
    aug = augment.get("randaugment", 16, num_ops=0, strength=3)
    assert aug.params == {"strength": 3, "num_ops": 0}
    torch.testing.assert_close(aug(images), images.float() / 255, rtol=0, atol=0)


def test_stronger_magnitude_moves_images_further():
    images = make_images(256, 3, 16)
    distance = []
    for strength in (1, 7, 20):
        views = augment.get("randaugment", 16, strength=strength)(images, seeded(0))
        distance.append((views - images.float() / 255).abs().mean().item())
    assert distance[0] < distance[1] < distance[2]
