import numpy as np
import pytest
import torch

from mnemoscope.data import split
from mnemoscope.data.splits import part_counts


def test_same_seed_same_parts_other_seed_other_parts():
    sizes = {"S_S": 0.4, "S_C": 0.4, "S_I": 0.2}
    first, again = split(100, sizes, seed=7), split(100, sizes, seed=7)
    other = split(100, sizes, seed=8)
    assert all(torch.equal(first[name], again[name]) for name in sizes)
    assert not torch.equal(first["S_S"], other["S_S"])


def test_parts_are_disjoint_sorted_int64_in_range():
    parts = split(103, {"a": 0.5, "b": 0.25}, seed=0)
    assert list(parts) == ["a", "b"]
    merged = torch.cat(list(parts.values()))
    assert torch.unique(merged).numel() == merged.numel()
    for part in parts.values():
        assert part.dtype == torch.int64
        assert torch.equal(part, torch.sort(part).values)
        assert int(part.min()) >= 0 and int(part.max()) < 103


@pytest.mark.parametrize(
    ("sizes", "n", "expected"),
    [
        ({"a": 0.5, "b": 0.25}, 103, {"a": 51, "b": 26}),  # 51.5, 25.75; floor(77.25) = 77 in all
        (
            {"train": 0.7, "test": 0.3},
            11,
            {"train": 8, "test": 3},
        ),  # fractions summing to 1 use all
        ({"a": 0.1, "b": 0.2, "c": 0.7}, 10, {"a": 1, "b": 2, "c": 7}),
        ({"a": 3, "b": 5}, 10, {"a": 3, "b": 5}),
        ({"a": 0}, 4, {"a": 0}),
    ],
)
def test_part_sizes(sizes, n, expected):
    assert part_counts(sizes, n) == expected
    assert {name: len(part) for name, part in split(n, sizes, seed=0).items()} == expected


def test_fractions_summing_to_one_cover_everything():
    parts = split(57, {"a": 0.6, "b": 0.4}, seed=3)
    assert sorted(torch.cat(list(parts.values())).tolist()) == list(range(57))


def test_index_input_splits_those_values():
    index = torch.tensor([40, 5, 9, 2, 71, 7])
    parts = split(index, {"x": 2, "y": 3}, seed=0)
    chosen = torch.cat([parts["x"], parts["y"]]).tolist()
    assert len(chosen) == 5 and set(chosen) <= set(index.tolist())


def class_counts(part: torch.Tensor, labels: np.ndarray) -> np.ndarray:
    return np.bincount(labels[part.numpy()], minlength=3)


def test_stratification_keeps_class_proportions():
    labels = np.repeat([0, 1, 2], [300, 100, 50])
    np.random.default_rng(0).shuffle(labels)
    sizes = {"a": 0.5, "b": 0.3, "c": 0.2}
    share = np.array([300, 100, 50]) / 450
    worst_unstratified = 0.0
    for seed in range(20):
        stratified = split(450, sizes, seed=seed, stratify_labels=torch.from_numpy(labels))
        plain = split(450, sizes, seed=seed)
        for name in sizes:
            expected = len(stratified[name]) * share
            assert np.abs(class_counts(stratified[name], labels) - expected).max() <= 2
            worst_unstratified = max(
                worst_unstratified, np.abs(class_counts(plain[name], labels) - expected).max()
            )
    # The bound is a property of stratification, not of the numbers chosen here.
    assert worst_unstratified > 5


def test_stratified_split_of_an_index_uses_labels_per_index_entry():
    index = torch.arange(100, 140)
    labels = torch.tensor([0, 1] * 20)
    parts = split(index, {"a": 0.5}, seed=0, stratify_labels=labels)
    assert len(parts["a"]) == 20
    assert set(parts["a"].tolist()) <= set(index.tolist())
    picked_labels = labels[parts["a"] - 100]
    assert abs(int(picked_labels.sum()) - 10) <= 1


@pytest.mark.parametrize(
    ("sizes", "message"),
    [
        ({"a": -1}, r"size of part 'a' must be finite and >= 0, got -1"),
        ({"a": -0.1}, r"size of part 'a' must be finite and >= 0, got -0.1"),
        ({"a": float("nan")}, r"size of part 'a' must be finite and >= 0, got nan"),
        ({"a": 0.7, "b": 0.5}, r"fractions sum to 1.2 > 1"),
        ({"a": 8, "b": 5}, r"sizes ask for 13 items in all .* but n is 10"),
        ({"a": 0.5, "b": 3}, r"sizes mix integer counts and float fractions"),
        ({"a": True}, r"size of part 'a' must be an int or a float, got True"),
        ({"a": "half"}, r"size of part 'a' must be an int or a float, got 'half'"),
        ({}, r"sizes is empty"),
    ],
)
def test_bad_sizes_are_refused(sizes, message):
    with pytest.raises(ValueError, match=message):
        split(10, sizes, seed=0)


def test_repeated_index_values_are_refused():
    with pytest.raises(ValueError, match="index values must be unique, but 3 repeats"):
        split(torch.tensor([1, 3, 3]), {"a": 1}, seed=0)


def test_float_index_is_refused():
    with pytest.raises(ValueError, match="1-D integer index, got dtype float32"):
        split(torch.tensor([1.0, 2.0]), {"a": 1}, seed=0)


def test_labels_must_match_items():
    with pytest.raises(ValueError, match=r"stratify_labels has shape \(3,\), expected \(4,\)"):
        split(4, {"a": 2}, seed=0, stratify_labels=[0, 1, 0])
