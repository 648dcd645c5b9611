"""Probes of every trained encoder: kNN and linear test accuracy stored with the run."""

import pytest
from pydantic import ValidationError

from mnemoscope.measure.features import extract_features
from mnemoscope.measure.probes import knn_accuracy, linear_probe_accuracy
from mnemoscope.training import train
from mnemoscope.training.probe import probe_images
from tests.training.configs import tiny_config

PROBE = {"train_limit": 500, "test_limit": 200}


def test_probe_table_matches_the_probes_of_the_final_network(tmp_path, fmnist):
    config = tiny_config(probe={**PROBE, "taps": ["embedding", "layer2"]})
    result = train(config, tmp_path, bundle=fmnist, quiet=True)
    table = result.probe()
    assert list(zip(table["tap"], table["probe"], strict=True)) == [
        ("embedding", "knn"), ("embedding", "linear"), ("layer2", "knn"), ("layer2", "linear"),
    ]  # fmt: skip
    assert (table["train_size"] == 500).all() and (table["test_size"] == 200).all()
    train_set = probe_images(fmnist.train, 500)
    test_set = probe_images(fmnist.test, 200)
    assert set(train_set.labels.tolist()) == set(range(10))  # stratified: every class
    network = result.model()
    for tap in ("embedding", "layer2"):
        fit = extract_features(network, train_set.images, [tap])[tap]
        test = extract_features(network, test_set.images, [tap])[tap]
        rows = table[table["tap"] == tap].set_index("probe")["accuracy"]
        knn = knn_accuracy(fit, train_set.labels, test, test_set.labels, k=20)
        linear = linear_probe_accuracy(fit, train_set.labels, test, test_set.labels)
        assert rows["knn"] == pytest.approx(knn) and rows["linear"] == pytest.approx(linear)
    assert 0.3 < rows["linear"] <= 1.0  # a trained supervised encoder, far above chance
    meta = result.run.read_meta()["probe"]
    assert meta["accuracy"]["embedding"]["knn"] == pytest.approx(table["accuracy"].iloc[0])


def test_a_finished_run_gains_its_probe_without_training_again(tmp_path, fmnist):
    plain = train(tiny_config(), tmp_path, bundle=fmnist, quiet=True)
    assert plain.probe() is None
    stamp = plain.run.checkpoint_path("final").stat().st_mtime_ns
    probed = tiny_config(probe={**PROBE, "linear": False})
    assert probed.key() == tiny_config().key()  # probes change nothing in the weights
    result = train(probed, tmp_path, bundle=fmnist, quiet=True)
    assert result.run.path == plain.run.path
    assert result.run.checkpoint_path("final").stat().st_mtime_ns == stamp
    assert list(result.probe()["probe"]) == ["knn"]
    assert result.run.verify() == []  # the probe table is bound to the run (MANIFEST.json)
    again = tiny_config(probe={**PROBE, "k": 5, "linear": False})
    assert list(train(again, tmp_path, bundle=fmnist, quiet=True).probe()["k"]) == [5]


def test_bad_probe_options_are_refused(tmp_path, fmnist):
    with pytest.raises(ValidationError, match="knn and linear both off"):
        tiny_config(probe={"knn": False, "linear": False})
    with pytest.raises(ValidationError, match="probe.k"):
        tiny_config(probe={"k": 0})
    with pytest.raises(ValueError, match="probe tap 'tokens' is not a tap of 'convnet-tiny'"):
        train(tiny_config(probe={"taps": ["tokens"]}), tmp_path, bundle=fmnist, quiet=True)
    assert not any(tmp_path.iterdir())
