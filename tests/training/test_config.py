import pytest
from pydantic import ValidationError

from mnemoscope.training import RunSpec, TrainConfig


def _error(**overrides) -> str:
    with pytest.raises(ValidationError) as info:
        TrainConfig.model_validate(overrides)
    return str(info.value)


def test_defaults_are_valid_and_key_depends_on_every_choice():
    config = TrainConfig()
    assert config.key() == TrainConfig().key()
    assert config.key() != TrainConfig(seed=1).key()
    assert config.key() != TrainConfig(optim={"lr": 0.01}).key()
    assert RunSpec(config).run_name.startswith("supervised-s0-")


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"epochs": 0}, "epochs"),
        ({"optim": {"lr": 0}}, "optim.lr"),
        ({"objective": {"name": "random_labels", "label_noise": 1.5}}, "label_noise"),
        ({"objective": {"name": "random_labels", "num_classes": 1}}, "num_classes"),
        ({"objective": {"name": "swav"}}, "'swav'"),
        ({"model": {"name": "resnet9000"}}, "unknown model 'resnet9000'"),
        ({"augment": {"name": "sepia"}}, "unknown augmentation 'sepia'"),
        ({"epochs": 2, "measure_at": [3]}, "measure_at epoch 3 is after the last epoch"),
        ({"epochs": 2, "save_epochs": [5]}, "save_epochs epoch 5 is after the last epoch"),
        ({"data": {"subset": [1, -2]}}, "subset index -2"),
        ({"batchsize": 64}, "batchsize"),
        ({"save_epochs": [-1]}, "save_epochs epoch -1 is negative"),
        ({"checkpoint_every": 0}, "checkpoint_every"),
    ],
)
def test_bad_values_are_refused_naming_key_and_value(overrides, expected):
    assert expected in _error(**overrides)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"objective": {"name": "mae", "mask_ratio": 1.0}}, "mask_ratio"),
        (
            {"objective": {"name": "mae", "decoder_dim": 100, "decoder_heads": 16}},
            "decoder_heads 16",
        ),
        (
            {"objective": {"name": "mae"}, "model": {"name": "resnet18"}},
            "use model.name 'vit-tiny'",
        ),
        ({"objective": {"name": "dino", "teacher_temp": 0}}, "teacher_temp"),
        ({"objective": {"name": "dino", "head_norm": "layernorm"}}, "head_norm"),
        ({"objective": {"name": "byol", "momentum": 1.5}}, "momentum"),
        ({"objective": {"name": "vicreg", "lambda": 25}}, "lambda"),
        ({"objective": {"name": "simsiam", "predictor_hidden": 0}}, "predictor_hidden"),
        ({"objective": {"name": "barlowtwins", "redundancy_weight": -1}}, "redundancy_weight"),
        ({"optim": {"name": "lamb"}}, "'lamb'"),
        ({"epochs": 2, "optim": {"warmup_epochs": 3}}, "warmup_epochs 3 is longer than training"),
    ],
)
def test_bad_method_options_are_refused_naming_them(overrides, expected):
    assert expected in _error(**overrides)


def test_the_key_hashes_every_option_but_storage_and_probes():
    import hashlib
    import json

    config = TrainConfig(seed=3, objective={"name": "simclr"}, measure_at=[0, 1])
    dump = config.model_dump(mode="json")
    for key in ("probe", "checkpoint_every", "privacy"):  # privacy: only when null
        del dump[key]
    canonical = json.dumps(dump, sort_keys=True, separators=(",", ":"))
    assert config.key() == hashlib.sha256(canonical.encode()).hexdigest()[:16]
    assert TrainConfig(optim={"warmup_epochs": 1}).key() != TrainConfig().key()
    assert TrainConfig(alignment_tap="layer3").key() != TrainConfig().key()
    assert RunSpec(TrainConfig(objective={"name": "dino"})).run_name.startswith("dino-s0-")


def test_checkpoint_every_is_not_part_of_the_run_key():
    # How often the resumable state is written changes no weight: the run is the same one.
    assert TrainConfig(checkpoint_every=10).key() == TrainConfig().key()
    assert RunSpec(TrainConfig(checkpoint_every=10)).run_name == RunSpec(TrainConfig()).run_name
