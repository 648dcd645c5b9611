"""Probes of frozen features: k-nearest-neighbour and linear (logistic regression).

Paper 003 (section 2, "Probing") evaluates an encoder by kNN classification (k = 20, cosine
similarity, majority vote) of its features, and by a linear probe (appendix A, table 4).
The kNN probe here is batched torch (it runs on the GPU and scales to every layer of every
epoch); tests check it against ``sklearn.neighbors.KNeighborsClassifier(20, metric="cosine")``.

``accuracy(network, fit, test, kind, tap)`` is the one probe of a network: features at a tap
(``measure.features.extract_features``) of the images it is fitted on and of those it is
scored on, then the kNN or linear probe. ``feature_accuracy`` is the same probe on features
already extracted (a caller reading several taps in one forward pass); it is where "knn" or
"linear" is decided.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from mnemoscope.data.imageset import ImageSet
from mnemoscope.measure.features import extract_features

KINDS = ("knn", "linear")
ProbeKind = Literal["knn", "linear"]
# Images (or features) with their labels: a data.ImageSet or an (images, labels) pair.
Labelled = ImageSet | Sequence[torch.Tensor]


def knn_predict(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    query_features: torch.Tensor,
    **options,
) -> torch.Tensor:
    """Predicted labels of ``query_features`` by the k most cosine-similar training features.

    Majority vote (ties go to the smallest label, as in scikit-learn); ``weighted`` weighs each
    neighbour by 1 / (1 - cosine similarity), scikit-learn's ``weights="distance"`` with the
    cosine distance. ``leave_self_out``: the queries are the training features themselves, in
    the same order, and each one's own entry is excluded (paper 003's noisy probe evaluates on
    the training images with their random labels). Options: those of ``knn_votes``.
    """
    # argmax returns the first (smallest) label of a tie
    return knn_votes(train_features, train_labels, query_features, **options).argmax(dim=1)


def knn_votes(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    query_features: torch.Tensor,
    *,
    k: int = 20,
    weighted: bool = False,
    leave_self_out: bool = False,
    num_classes: int | None = None,
    chunk_size: int = 1024,
) -> torch.Tensor:
    """``[Q, C]`` votes of each query's k most cosine-similar training features per class
    (counts, or summed weights if ``weighted``; see ``knn_predict``): its argmax is the kNN
    prediction, its row divided by the row sum the neighbours' label distribution."""
    if k < 1:
        raise ValueError(f"k = {k}: the kNN probe needs k >= 1")
    available = len(train_features) - (1 if leave_self_out else 0)
    if k > available:
        raise ValueError(f"k = {k} is more than the {available} training features available")
    if leave_self_out and len(query_features) != len(train_features):
        raise ValueError(
            f"leave_self_out needs the queries to be the training features: got "
            f"{len(query_features)} queries for {len(train_features)} training features"
        )
    train = F.normalize(train_features.float(), dim=1)
    labels = train_labels.long().to(train.device)
    classes = num_classes or int(labels.max()) + 1
    votes_by_chunk = []
    for start in range(0, len(query_features), chunk_size):
        query = F.normalize(
            query_features[start : start + chunk_size].float().to(train.device), dim=1
        )
        similarity = query @ train.T
        if leave_self_out:
            rows = torch.arange(len(query), device=train.device)
            similarity[rows, rows + start] = float("-inf")
        top_similarity, top_index = similarity.topk(k, dim=1)
        if weighted:
            votes = 1.0 / (1.0 - top_similarity).clamp_min(1e-12)
        else:
            votes = torch.ones_like(top_similarity)
        scores = torch.zeros(len(query), classes, device=train.device)
        scores.scatter_add_(1, labels[top_index], votes)
        votes_by_chunk.append(scores)
    return torch.cat(votes_by_chunk)


def knn_accuracy(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    query_features: torch.Tensor,
    query_labels: torch.Tensor,
    **options,
) -> float:
    """Fraction of queries whose kNN prediction equals their label (see ``knn_predict``)."""
    predicted = knn_predict(train_features, train_labels, query_features, **options)
    return (predicted.cpu() == query_labels.long().cpu()).float().mean().item()


def linear_probe_accuracy(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    test_features: torch.Tensor,
    test_labels: torch.Tensor,
    *,
    regularization: float = 1.0,
    max_iter: int = 1000,
) -> float:
    """Test accuracy of a multinomial logistic regression on standardized frozen features.

    Full-batch L-BFGS (scikit-learn), so the result is deterministic: no seed, no batch order.
    ``regularization`` is scikit-learn's C (inverse L2 strength). BLAS runs on one thread: the
    matrices of a probe are small, and on a busy 2-core machine more threads only contend
    (500 x 128 features: 3.3 s with the default threads, 0.07 s with one).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    probe = make_pipeline(StandardScaler(), LogisticRegression(C=regularization, max_iter=max_iter))
    with threadpool_limits(limits=1, user_api="blas"):
        probe.fit(train_features.float().cpu().numpy(), train_labels.cpu().numpy())
        return float(probe.score(test_features.float().cpu().numpy(), test_labels.cpu().numpy()))


def accuracy(
    network: nn.Module,
    fit: Labelled,
    test: Labelled,
    kind: ProbeKind,
    tap: str = "embedding",
    *,
    k: int = 20,
    weighted: bool = False,
    num_classes: int | None = None,
    device: torch.device | str | None = None,
    batch_size: int = 512,
    knn_device: torch.device | str | None = None,
) -> float:
    """Accuracy on ``test`` of a ``kind`` probe ("knn" or "linear") of ``network``'s features
    at ``tap``, fitted on ``fit``; each is a ``data.ImageSet`` or an (images, labels) pair.

    Features come from ``extract_features`` (on ``device``, default the network's, in batches
    of ``batch_size``), those of ``fit`` first; the probe is ``feature_accuracy``'s (``k``,
    ``weighted``, ``num_classes`` and ``knn_device`` are the kNN's)."""
    check_kind(kind)
    tap_names = getattr(network, "tap_names", None)
    if tap_names is not None and tap not in tap_names:
        raise ValueError(f"unknown tap {tap!r}: this network's taps are {', '.join(tap_names)}")
    fit_images, fit_labels = _pair(fit, "fit")
    test_images, test_labels = _pair(test, "test")
    fit_features = extract_features(network, fit_images, [tap], batch_size=batch_size,
                                    device=device)[tap]  # fmt: skip
    test_features = extract_features(network, test_images, [tap], batch_size=batch_size,
                                     device=device)[tap]  # fmt: skip
    return feature_accuracy((fit_features, fit_labels), (test_features, test_labels), kind, k=k,
                            weighted=weighted, num_classes=num_classes,
                            knn_device=knn_device)  # fmt: skip


def feature_accuracy(
    fit: Sequence[torch.Tensor],
    test: Sequence[torch.Tensor],
    kind: ProbeKind,
    *,
    k: int = 20,
    weighted: bool = False,
    leave_self_out: bool = False,
    num_classes: int | None = None,
    knn_device: torch.device | str | None = None,
) -> float:
    """Accuracy on ``test`` = (features, labels) of a ``kind`` probe fitted on ``fit`` =
    (features, labels): ``knn_accuracy`` (``k``, ``weighted``, ``leave_self_out``,
    ``num_classes``; computed on ``knn_device``, default where the features are) or
    ``linear_probe_accuracy`` (which ignores those options)."""
    check_kind(kind)
    fit_features, fit_labels = _pair(fit, "fit")
    test_features, test_labels = _pair(test, "test")
    if kind == "linear":
        return linear_probe_accuracy(fit_features, fit_labels, test_features, test_labels)
    if knn_device is not None:
        fit_features, test_features = fit_features.to(knn_device), test_features.to(knn_device)
    return knn_accuracy(fit_features, fit_labels, test_features, test_labels, k=k,
                        weighted=weighted, leave_self_out=leave_self_out,
                        num_classes=num_classes)  # fmt: skip


def check_kind(kind: str) -> None:
    """Refuse a probe kind other than "knn" or "linear"."""
    if kind not in KINDS:
        raise ValueError(f"unknown probe kind {kind!r}: choose 'knn' or 'linear'")


def _pair(labelled: Labelled, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    if isinstance(labelled, ImageSet):
        return labelled.images, labelled.labels
    if isinstance(labelled, torch.Tensor) or len(labelled) != 2:
        raise TypeError(f"{name} must be a data.ImageSet or an (images, labels) pair")
    values, labels = labelled
    if len(values) != len(labels):
        raise ValueError(f"{name} has {len(values)} images or features but {len(labels)} labels")
    return values, labels
