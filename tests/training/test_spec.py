"""RunSpec: the run key from the config and the descriptions, and the JSON round trip."""

import pytest

from mnemoscope.studies.benign.banks import BankRecipe
from mnemoscope.studies.profiles.config import Data, TrackingSpec
from mnemoscope.studies.profiles.tracking import RecognitionHook
from mnemoscope.training import AugmentConfig, RunSpec, TrainConfig


def _spec(bank_seed=0, batch_size=1024, views=4):
    config = TrainConfig(epochs=2, measure_at=[0, 2], data={"subset": [0, 1, 2, 3]})
    recipe = BankRecipe(index=[0, 1, 2], augment=AugmentConfig(name="weak"), views=views,
                        seed=0, label_seed=None)  # fmt: skip
    tracking = TrackingSpec(size=2, bank_seed=bank_seed, batch_size=batch_size)
    hook = RecognitionHook(data=Data(name="fmnist-mini"), tracking=tracking,
                           eval_batch_size=2)  # fmt: skip
    return RunSpec(config, recipe, {"recognition": hook})


def test_a_spec_survives_json_and_keeps_its_key():
    spec = _spec()
    again = RunSpec.from_json(spec.to_json())
    assert again.to_dict() == spec.to_dict()
    assert again.key() == spec.key() and again.run_name == spec.run_name
    assert type(again.data) is BankRecipe and type(again.hooks["recognition"]) is RecognitionHook
    assert again.hooks["recognition"].tracking.batch_size == 1024


def test_the_key_follows_the_recipe_and_hooks_but_not_speed_settings():
    spec = _spec()
    assert _spec(bank_seed=1).key() != spec.key()  # another measurement: another run
    assert _spec(views=8).key() != spec.key()  # another training set: another run
    assert _spec(batch_size=64).key() == spec.key()  # views per forward pass: the same run
    plain = spec.config.model_copy(update={"measure_at": []})
    assert RunSpec(plain).key() == plain.key()  # a plain config keeps its own key
    assert spec.key() != spec.config.key()


@pytest.mark.parametrize("kind", ["os:system", "mnemoscope.training.config:TrainConfig"])
def test_parts_are_rebuilt_only_from_mnemoscope_recipe_and_hook_classes(kind):
    raw = _spec().to_dict()
    raw["hooks"]["recognition"]["type"] = kind
    with pytest.raises(ValueError, match="spec part type"):
        RunSpec.from_dict(raw)
