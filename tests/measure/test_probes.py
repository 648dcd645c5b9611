import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from mnemoscope import data, models
from mnemoscope.measure import probes
from mnemoscope.measure.features import extract_features
from mnemoscope.measure.probes import knn_accuracy, knn_predict, linear_probe_accuracy


def _features(seed=0, n=300, queries=120, dim=16, classes=5):
    generator = torch.Generator().manual_seed(seed)
    centers = torch.randn(classes, dim, generator=generator)
    train_labels = torch.randint(classes, (n,), generator=generator)
    query_labels = torch.randint(classes, (queries,), generator=generator)
    train = centers[train_labels] + 1.5 * torch.randn(n, dim, generator=generator)
    query = centers[query_labels] + 1.5 * torch.randn(queries, dim, generator=generator)
    return train, train_labels, query, query_labels


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_knn_agrees_with_scikit_learn(weighted, seed):
    train, train_labels, query, _ = _features(seed)
    ours = knn_predict(train, train_labels, query, k=20, weighted=weighted, chunk_size=50)
    reference = KNeighborsClassifier(
        20, metric="cosine", weights="distance" if weighted else "uniform", algorithm="brute"
    ).fit(train.numpy(), train_labels.numpy())
    np.testing.assert_array_equal(ours.numpy(), reference.predict(query.numpy()))


def test_leave_self_out_excludes_each_point_itself():
    train, labels, _, _ = _features(3)
    ours = knn_predict(train, labels, train, k=5, leave_self_out=True, chunk_size=64)
    # scikit-learn: ask for 6 neighbours of each training point and drop the point itself.
    model = KNeighborsClassifier(6, metric="cosine", algorithm="brute").fit(train.numpy(), labels)
    _, index = model.kneighbors(train.numpy())
    expected = []
    for row, neighbours in enumerate(index):
        kept = [i for i in neighbours if i != row][:5]
        expected.append(np.bincount(labels.numpy()[kept], minlength=5).argmax())
    np.testing.assert_array_equal(ours.numpy(), expected)
    # Without leaving itself out, k=1 would always find the point itself.
    assert knn_accuracy(train, labels, train, labels, k=1) == 1.0
    assert knn_accuracy(train, labels, train, labels, k=1, leave_self_out=True) < 1.0


def test_knn_rejects_bad_k_and_mismatched_self_queries():
    train, labels, query, _ = _features()
    with pytest.raises(ValueError, match="k = 0"):
        knn_predict(train, labels, query, k=0)
    with pytest.raises(ValueError, match="k = 400 is more than the 300"):
        knn_predict(train, labels, query, k=400)
    with pytest.raises(ValueError, match="leave_self_out needs the queries"):
        knn_predict(train, labels, query, leave_self_out=True)


def test_linear_probe_matches_scikit_learn_pipeline():
    train, train_labels, query, query_labels = _features(4)
    scaler = StandardScaler().fit(train.numpy())
    reference = LogisticRegression(max_iter=1000).fit(scaler.transform(train.numpy()), train_labels)
    expected = reference.score(scaler.transform(query.numpy()), query_labels.numpy())
    assert linear_probe_accuracy(train, train_labels, query, query_labels) == pytest.approx(
        expected
    )
    assert expected > 0.5  # the clusters are separable: a probe that learns nothing would fail


def _images(seed: int, count: int, classes: int = 3) -> data.ImageSet:
    """Grayscale 12 px images whose brightness depends on the class, with their labels."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(count) % classes
    noise = torch.randint(0, 80, (count, 1, 12, 12), generator=generator)
    images = (noise + 60 * labels.view(-1, 1, 1, 1)).to(torch.uint8)
    return data.ImageSet(images, labels, torch.arange(count))


def _network() -> models.Network:
    torch.manual_seed(0)
    return models.build("convnet-tiny", in_channels=1, num_outputs=8, projector_hidden=16)


@pytest.mark.parametrize("tap", ["embedding", "layer1"])
def test_accuracy_is_the_probe_of_the_features_at_the_tap(tap):
    network, fit, test = _network(), _images(0, 60), _images(1, 30)
    fit_x = extract_features(network, fit.images, [tap])[tap]
    test_x = extract_features(network, test.images, [tap])[tap]
    knn = knn_accuracy(fit_x, fit.labels, test_x, test.labels, k=5, num_classes=3)
    linear = linear_probe_accuracy(fit_x, fit.labels, test_x, test.labels)
    # bit for bit: the same features, in the same order, through the same functions
    assert probes.accuracy(network, fit, test, "knn", tap, k=5, num_classes=3) == knn
    assert probes.accuracy(network, fit, test, "linear", tap) == linear
    pairs = (fit.images, fit.labels), (test.images, test.labels)
    assert probes.accuracy(network, *pairs, "knn", tap, k=5, batch_size=7) == knn
    weighted = knn_accuracy(fit_x, fit.labels, test_x, test.labels, weighted=True)
    assert probes.accuracy(network, fit, test, "knn", tap, weighted=True) == weighted
    assert probes.feature_accuracy((fit_x, fit.labels), (test_x, test.labels), "linear") == linear
    self_out = knn_accuracy(fit_x, fit.labels, fit_x, fit.labels, k=3, leave_self_out=True)
    fitted = (fit_x, fit.labels)
    assert probes.feature_accuracy(fitted, fitted, "knn", k=3, leave_self_out=True) == self_out
    assert 0.0 <= knn <= 1.0 and 0.0 <= linear <= 1.0


def test_accuracy_refuses_a_bad_kind_tap_or_pair():
    network, fit, test = _network(), _images(0, 30), _images(1, 10)
    with pytest.raises(ValueError, match="unknown probe kind 'svm': choose 'knn' or 'linear'"):
        probes.accuracy(network, fit, test, "svm")
    with pytest.raises(ValueError, match="unknown probe kind 'KNN'"):
        probes.feature_accuracy((torch.zeros(4, 2), torch.zeros(4)), (torch.zeros(1, 2),
                                torch.zeros(1)), "KNN")  # fmt: skip
    with pytest.raises(ValueError, match="unknown tap 'tokens': this network's taps are"):
        probes.accuracy(network, fit, test, "knn", "tokens")
    with pytest.raises(TypeError, match="fit must be a data.ImageSet or an .images, labels. pair"):
        probes.accuracy(network, fit.images, test, "knn")
    with pytest.raises(ValueError, match="test has 10 images or features but 3 labels"):
        probes.accuracy(network, fit, (test.images, test.labels[:3]), "linear")
