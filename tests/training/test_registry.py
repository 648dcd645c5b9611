"""The method registry: one record per method, every table derived from the records."""

import pytest

from mnemoscope import augment
from mnemoscope.training import TrainConfig, recipe
from mnemoscope.training.objectives import (
    CLASSIFICATION,
    RECOGNIZABLE,
    REGISTRY,
    WITH_TEACHER,
    default_augment,
    method,
)
from mnemoscope.training.recipes import METHODS


@pytest.mark.parametrize("name", list(REGISTRY))
def test_each_record_names_its_config_and_trains_with_a_known_augmentation(name):
    record = REGISTRY[name]
    assert record.config().name == name  # the config's discriminator is the record's name
    config = TrainConfig(objective={"name": name}, model={"name": "vit-tiny"})
    assert type(config.objective) is record.config  # the config union comes from the records
    chosen = default_augment(name)
    assert chosen["name"] in augment.names()
    augment.get(chosen["name"], size=28, **chosen["params"])  # valid preset parameters


def test_derived_tables():
    assert CLASSIFICATION == ("supervised", "random_labels")
    assert RECOGNIZABLE == ("supervised", "random_labels", "simclr")
    assert WITH_TEACHER == ("byol", "dino")
    assert METHODS == ("simclr", "byol", "simsiam", "vicreg", "barlowtwins", "dino", "mae")
    assert default_augment("mae")["params"]["crop_scale"] == (0.2, 1.0)
    assert default_augment("random_labels") == {"name": "none", "params": {}}


def test_recipes_come_from_the_records():
    assert recipe("dino").objective.head_norm == REGISTRY["dino"].quick["objective"]["head_norm"]
    assert recipe("vicreg", "paper").batch_size == REGISTRY["vicreg"].paper["batch_size"]


def test_unknown_method_is_named():
    with pytest.raises(ValueError, match="unknown objective 'moco'.*simclr"):
        method("moco")
