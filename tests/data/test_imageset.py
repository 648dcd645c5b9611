import pytest
import torch

from mnemoscope.data import UNLABELED, DatasetBundle, ImageSet


def make_set(n: int = 4, channels: int = 1, size: int = 5, first_id: int = 0) -> ImageSet:
    return ImageSet(
        images=torch.arange(n * channels * size * size, dtype=torch.int64)
        .remainder(256)
        .to(torch.uint8)
        .reshape(n, channels, size, size),
        labels=torch.arange(n, dtype=torch.int64) % 2,
        ids=torch.arange(first_id, first_id + n, dtype=torch.int64),
    )


def test_len_and_subset_keep_ids_with_their_images():
    images = make_set(n=6, first_id=100)
    part = images.subset(torch.tensor([4, 1]))
    assert len(part) == 2
    assert part.ids.tolist() == [104, 101]
    assert torch.equal(part.images, images.images[[4, 1]])
    assert torch.equal(part.labels, images.labels[[4, 1]])


def test_subset_accepts_boolean_mask():
    images = make_set(n=4)
    part = images.subset(torch.tensor([True, False, False, True]))
    assert part.ids.tolist() == [0, 3]


def test_subset_with_repeated_positions_is_refused_as_duplicate_ids():
    with pytest.raises(ValueError, match=r"ids must be unique.*first: 2"):
        make_set().subset(torch.tensor([2, 2]))


def test_subset_refuses_uint8_index():
    with pytest.raises(ValueError, match="uint8"):
        make_set().subset(torch.tensor([0, 1], dtype=torch.uint8))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "images",
            torch.zeros(4, 1, 5, 5, dtype=torch.float32),
            r"images must have dtype torch.uint8, got torch.float32",
        ),
        (
            "images",
            torch.zeros(4, 5, 5, dtype=torch.uint8),
            r"images must have 4 dimensions, got 3 \(shape \(4, 5, 5\)\)",
        ),
        (
            "labels",
            torch.zeros(4, dtype=torch.int32),
            r"labels must have dtype torch.int64, got torch.int32",
        ),
        ("labels", torch.zeros(3, dtype=torch.int64), r"labels has length 3, expected 4"),
        ("labels", torch.tensor([0, -2, 0, 0]), r"labels must be >= -1.*got -2"),
        ("ids", torch.zeros(4, 1, dtype=torch.int64), r"ids must have 1 dimensions, got 2"),
        (
            "ids",
            torch.tensor([0, 1, 2, 1]),
            r"ids must be unique, but 1 repeat \(first: 1, seen 2 times\)",
        ),
        ("ids", torch.tensor([0, 1, -5, 3]), r"ids must be non-negative, got -5"),
        ("ids", [0, 1, 2, 3], r"ids must be a torch.Tensor, got list"),
    ],
)
def test_invalid_fields_are_refused_with_the_offending_value(field, value, message):
    fields = {"images": make_set().images, "labels": make_set().labels, "ids": make_set().ids}
    fields[field] = value
    with pytest.raises(ValueError, match=message):
        ImageSet(**fields)


def test_image_set_is_frozen():
    images = make_set()
    with pytest.raises(AttributeError):
        images.ids = torch.arange(4)


def test_unlabeled_label_is_allowed():
    images = make_set()
    ImageSet(images.images, torch.full((4,), UNLABELED), images.ids)


def test_bundle_properties():
    bundle = DatasetBundle("toy", make_set(6, 3, 7), make_set(2, 3, 7), ("a", "b"))
    assert bundle.num_classes == 2
    assert bundle.channels == 3
    assert bundle.image_size == (7, 7)


def test_bundle_refuses_splits_of_different_shapes():
    with pytest.raises(
        ValueError, match=r"train images are \(1, 5, 5\).*test images are \(1, 6, 6\)"
    ):
        DatasetBundle("toy", make_set(size=5), make_set(size=6), ("a", "b"))


def test_bundle_refuses_labels_beyond_classes():
    with pytest.raises(ValueError, match=r"train label 1 is out of range for 1 classes"):
        DatasetBundle("toy", make_set(), make_set(), ("only",))


def test_bundle_refuses_non_tuple_classes():
    with pytest.raises(ValueError, match="classes must be a tuple of str"):
        DatasetBundle("toy", make_set(), make_set(), ["a", "b"])
