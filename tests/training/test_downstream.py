"""Downstream probes: datasets shaped like the encoder's input, missing ones skipped or
refused, and the accuracy of a frozen encoder on each."""

import pytest
import torch
from pydantic import ValidationError

from mnemoscope import data, models
from mnemoscope.measure.features import extract_features
from mnemoscope.measure.probes import linear_probe_accuracy
from mnemoscope.training.downstream import (
    DownstreamConfig,
    downstream_accuracy,
    load_downstream,
)


@pytest.fixture(scope="module")
def fmnist():
    return data.load("fmnist-mini")


def test_downstream_sets_take_the_encoders_input_shape_and_limits(fmnist):
    pixels = torch.zeros(2, 3, 16, 16, dtype=torch.uint8)  # an RGB 16 px encoder's data
    train = data.ImageSet(pixels, torch.tensor([0, 1]), torch.arange(2))
    rgb_like = data.DatasetBundle("like", train, train, fmnist.classes)
    sets, notes = load_downstream(
        [DownstreamConfig(name="digits", train_limit=100, test_limit=50, label="dig")], rgb_like
    )
    assert notes == []
    (digits,) = sets
    assert digits.label == "dig" and digits.num_classes == 10
    assert tuple(digits.train.images.shape) == (100, 3, 16, 16)
    assert tuple(digits.test.images.shape) == (50, 3, 16, 16)
    # stratified: every class in the limited training split
    assert len(torch.unique(digits.train.labels)) == 10


def test_missing_dataset_is_skipped_with_a_note_or_refused(fmnist):
    missing = {"name": "npz", "options": {"path": "/nonexistent/x.npz"}}
    sets, notes = load_downstream([DownstreamConfig(**missing, if_missing="skip"),
                                   DownstreamConfig(name="digits")], fmnist)  # fmt: skip
    assert [s.label for s in sets] == ["digits"]
    assert len(notes) == 1 and "'npz' skipped" in notes[0] and "/nonexistent/x.npz" in notes[0]
    with pytest.raises(FileNotFoundError, match="nonexistent"):
        load_downstream([DownstreamConfig(**missing)], fmnist)


def test_unknown_or_repeated_downstream_datasets_are_refused(fmnist):
    with pytest.raises(ValidationError, match="unknown downstream dataset 'cifar11'"):
        DownstreamConfig(name="cifar11")
    with pytest.raises(ValueError, match="appear twice"):
        load_downstream([DownstreamConfig(name="digits"), DownstreamConfig(name="digits")], fmnist)


def test_downstream_accuracy_is_the_linear_probe_of_the_frozen_embedding(fmnist):
    torch.manual_seed(0)
    network = models.build("convnet-tiny", in_channels=1, num_outputs=10, image_size=28)
    sets, _ = load_downstream([DownstreamConfig(name="fmnist-mini", train_limit=200,
                                                test_limit=100)], fmnist)  # fmt: skip
    table = downstream_accuracy(network, sets)
    assert list(table.columns) == ["downstream", "accuracy", "train_size", "test_size"]
    assert table.iloc[0][["downstream", "train_size", "test_size"]].tolist() == [
        "fmnist-mini", 200, 100]  # fmt: skip
    fit = extract_features(network, sets[0].train.images, ["embedding"])["embedding"]
    scored = extract_features(network, sets[0].test.images, ["embedding"])["embedding"]
    expected = linear_probe_accuracy(fit, sets[0].train.labels, scored, sets[0].test.labels)
    assert table.iloc[0]["accuracy"] == pytest.approx(expected)
    assert table.iloc[0]["accuracy"] > 0.3  # a random convnet's embedding is far above chance
