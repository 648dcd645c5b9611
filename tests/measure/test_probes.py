import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

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
