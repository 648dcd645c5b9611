import pytest
from pydantic import ValidationError

from mnemoscope.training import TrainConfig


def _error(**overrides) -> str:
    with pytest.raises(ValidationError) as info:
        TrainConfig.model_validate(overrides)
    return str(info.value)


def test_defaults_are_valid_and_key_depends_on_every_choice():
    config = TrainConfig()
    assert config.key() == TrainConfig().key()
    assert config.key() != TrainConfig(seed=1).key()
    assert config.key() != TrainConfig(optim={"lr": 0.01}).key()
    assert config.run_name.startswith("supervised-s0-")


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"epochs": 0}, "epochs"),
        ({"optim": {"lr": 0}}, "optim.lr"),
        ({"objective": {"name": "random_labels", "label_noise": 1.5}}, "label_noise"),
        ({"objective": {"name": "random_labels", "num_classes": 1}}, "num_classes"),
        ({"objective": {"name": "byol"}}, "'byol'"),
        ({"model": {"name": "resnet9000"}}, "unknown model 'resnet9000'"),
        ({"augment": {"name": "sepia"}}, "unknown augmentation 'sepia'"),
        ({"epochs": 2, "measure_at": [3]}, "measure_at epoch 3 is after the last epoch"),
        ({"epochs": 2, "save_epochs": [5]}, "save_epochs epoch 5 is after the last epoch"),
        ({"data": {"subset": [1, -2]}}, "subset index -2"),
        ({"batchsize": 64}, "batchsize"),
    ],
)
def test_bad_values_are_refused_naming_key_and_value(overrides, expected):
    assert expected in _error(**overrides)
