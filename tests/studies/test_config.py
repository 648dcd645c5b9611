"""``studies.config``: one shape of every study config (the dataset at ``data``, ``train`` a
StudyTrain, lists of seeds), one rule for nested studies, and configs of earlier versions read
in this version's shape with a warning that names each new key."""

import warnings

import pytest

from mnemoscope import data, studies
from mnemoscope.config_file import packaged_config
from mnemoscope.studies.config import ConfigMigrated, StudyTrain


def load_quietly(raw: dict):
    """The config of ``raw`` and the notes of its migration warning (none: no warning)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        config = studies.load_config(raw)
    notes = [str(w.message) for w in caught if issubclass(w.category, ConfigMigrated)]
    return config, notes


def specs_of(config) -> list[str]:
    bundle = data.load(config.data.name, **config.data.options)
    return [spec.to_json() for spec in studies.get(config.study).specs(config, bundle)]


@pytest.mark.parametrize("study", [record.name for record in studies.REGISTRY])
def test_every_config_has_its_dataset_at_data_and_round_trips_without_a_warning(study):
    config, notes = load_quietly(packaged_config(studies.get(study).quick_config))
    assert not notes  # the packaged configs are in this version's shape
    assert config.data.name == "fmnist-mini"
    again, notes = load_quietly(config.model_dump(mode="json"))
    assert again == config and not notes
    train = getattr(config, "train", None)
    assert train is None or isinstance(train, StudyTrain)


def test_an_earlier_sslmem_config_trains_the_very_same_runs():
    new = packaged_config("sslmem-quick")
    old = {key: value for key, value in new.items() if key != "data"}
    old["train"] = {**new["train"], "data": new["data"]}
    config, notes = load_quietly(old)
    assert notes and "train.data is now data" in notes[0]
    assert specs_of(config) == specs_of(studies.load_config(new))


def test_an_earlier_profiles_config_counted_its_seeds_and_named_optimizers_apart():
    new = packaged_config("profiles-quick")
    old = {**new, "seeds": 2, "first_seed": 5}
    config, notes = load_quietly(old)
    assert config.seeds == [5, 6] and "seeds: 2 with first_seed 5 is now seeds: [5, ..., 6]" in (
        notes[0])  # fmt: skip
    # train.optim without a name used to merge into a paradigm's named optimizer
    partial = {**new, "train": {**new["train"], "optim": {"lr": 0.005, "weight_decay": 0.01}}}
    partial["paradigms"] = [{**new["paradigms"][0],
                             "train": {**new["paradigms"][0]["train"],
                                       "optim": {"name": "sgd"}}}]  # fmt: skip
    config, notes = load_quietly(partial)
    trained = config.train_config(config.paradigms[0], 0).optim
    assert (trained.name, trained.lr, trained.weight_decay) == ("sgd", 0.005, 0.01)
    assert any("train.optim now holds" in note for note in notes)


def test_an_earlier_benign_config_trains_the_very_same_runs():
    new = packaged_config("benign-quick")
    train = dict(new["train"])
    objective = train.pop("objective")
    old = {key: value for key, value in new.items() if key != "train"}
    old["training"] = {**train, "loss": objective["loss"], "mixup_alpha": objective["mixup_alpha"]}
    old["verdict"] = {"margin": new["verdict"]["margin"], "seeds": new["verdict"]["networks"]}
    old["toy"] = {key: value for key, value in new["toy"].items() if key != "repetitions"}
    old["toy"]["seeds"] = new["toy"]["repetitions"]
    config, notes = load_quietly(old)
    text = " ".join(notes)
    assert "training is now train" in text and "verdict.seeds is now verdict.networks" in text
    assert "toy.seeds is now toy.repetitions" in text
    assert specs_of(config) == specs_of(studies.load_config(new))


def test_an_old_and_a_new_key_together_are_refused_naming_both():
    raw = {**packaged_config("sslmem-quick")}
    raw["train"] = {**raw["train"], "data": {"name": "digits"}}
    with pytest.raises(ValueError, match=r"both train.data .* and data are set: keep data"):
        studies.load_config(raw)


@pytest.mark.parametrize("outer", ["sslmem-removal-quick", "sslmem-privacy-quick"])
@pytest.mark.parametrize("key", ["data", "execution", "repeat"])
def test_a_nested_study_takes_data_execution_and_repeat_from_the_outer_config(outer, key):
    raw = packaged_config(outer)
    value = {"data": {"name": "digits"}, "execution": {"backend": "processes"},
             "repeat": {"study_seeds": [0, 1]}}[key]  # fmt: skip
    nested = {**raw, "sslmem": {**raw["sslmem"], key: value}}
    if key != "execution":  # never a nested key of an earlier version: refused, naming it
        with pytest.raises(ValueError, match=rf"sslmem.{key}: a nested study takes its {key}"):
            studies.load_config(nested)
        return
    # an earlier version's nested execution moves to the top, said
    config, notes = load_quietly(nested)
    assert f"sslmem.{key} is now {key}" in notes[0]
    assert getattr(config, key) is not None and getattr(config.sslmem, key) is None


def test_the_nested_study_runs_on_the_outer_data_and_execution():
    raw = packaged_config("sslmem-removal-quick")
    config = studies.load_config({**raw, "execution": {"backend": "processes", "workers": 2}})
    ranking = config.ranking_study()
    assert ranking.data == config.data and ranking.execution == config.execution
    assert ranking.repeat is None and ranking.study == "sslmem"


@pytest.mark.parametrize("study", ["atlas", "profiles", "sslmem", "sslmem-dejavu"])
def test_training_fields_the_study_sets_are_refused_naming_them(study):
    config = studies.get(study).config
    with pytest.raises(ValueError, match=r"train.measure_at is set by the study: \w"):
        config.model_validate({"study": study, "train": {"measure_at": [1]}})
    if study != "profiles":  # profiles saves no weights at all
        with pytest.raises(ValueError, match=r"train.save_epochs / train.measure_at are set"):
            config.model_validate({"study": study, "train": {"save_epochs": [1],
                                                             "measure_at": [1]}})  # fmt: skip
