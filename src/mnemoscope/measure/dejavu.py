"""Déjà Vu memorization (Meehan et al. 2023, "Do SSL models have déjà vu? A case of unintended
memorization in self-supervised learning"; compared with SSLMem in paper 002, section 4.5,
table 4).

Two encoders, A and B, are trained the same way on disjoint sets (A's and B's halves of the
training data); a labelled public set X from the same distribution is disjoint from both. For
each training image a_i of A, the encoder embeds a crop of a_i that leaves out the object,
finds the k nearest neighbours (cosine, k = 100 in Meehan et al.) of that embedding among the
embeddings of the *full* public images (each encoder embeds X itself) and guesses a_i's label
by their majority vote. B never saw a_i, so what B guesses right comes from the correlation of
background and object in the data distribution; what A guesses right and B does not is
memorized. The Déjà Vu score is the gap of label-inference accuracy

    DejaVu(A, B) = (1/|A|) sum_i [kNN_A(crop(a_i)) = y_i] - (1/|A|) sum_i [kNN_B(crop(a_i)) = y_i]

and every image falls in one of Meehan et al.'s four groups: *memorized* (A right, B wrong),
*correlated* (both right), *misrepresented* (A wrong, B right) and *unassociated* (both
wrong). Paper 002's table 4 reports Déjà Vu as a percentage beside SSLMem and describes it as
"the fraction of data points classified as memorized": both the gap (``DejaVu.score``) and the
fraction in the memorized group (``DejaVu.fractions()``) are given, since the two readings
differ by the misrepresented fraction (gap = memorized - misrepresented).

Adaptation (deviation): Meehan et al. crop the largest rectangle of an ImageNet image that
misses the object's annotated bounding box and resize it. The datasets here have no bounding
boxes and centred objects (Fashion-MNIST, CIFAR), so ``periphery_crop`` keeps the image's size
and *masks* a central box instead: for an image of H x W pixels and ``box`` = b in (0, 1), the
box is rows [t, t + h) and columns [l, l + w) with h = round(b H), w = round(b W),
t = (H - h) // 2, l = (W - w) // 2, and every channel of it is set to ``fill`` in [0, 1]. The
default fill is mid-grey (0.5), a visible occluder: a black box on Fashion-MNIST's black
background turns an item into a hollow outline unlike any training view, and label inference
from such crops fell to chance for every encoder, trained on the image or not. With b = 0.5 a
quarter of the area is hidden; what remains is the periphery, which at this scale may still
show parts of a large object.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from mnemoscope.measure.features import as_float_images, extract_features
from mnemoscope.measure.probes import knn_votes

DEFAULT_K = 100  # Meehan et al.'s k of the kNN label inference
GROUPS = ("memorized", "correlated", "misrepresented", "unassociated")


def central_box(height: int, width: int, box: float) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of the central box, bottom and right exclusive (module
    docstring: h = round(box H), t = (H - h) // 2; the same for the columns)."""
    if not 0 < box < 1:
        raise ValueError(f"box = {box}: the central box's side is a fraction of the image's, "
                         "in (0, 1)")
    h, w = round(box * height), round(box * width)
    if h < 1 or w < 1:
        raise ValueError(f"box = {box} covers no pixel of a {height} x {width} image: raise it")
    if h >= height or w >= width:  # no periphery left: the guess would be chance, not memory
        raise ValueError(f"box = {box} masks every pixel of a {height} x {width} image (a "
                         f"{h} x {w} box), leaving no periphery to guess the label from: "
                         "lower it")  # fmt: skip
    top, left = (height - h) // 2, (width - w) // 2
    return top, left, top + h, left + w


def periphery_crop(images: torch.Tensor, box: float = 0.5, fill: float = 0.5) -> torch.Tensor:
    """``images`` ``[N, C, H, W]`` (uint8 or float in [0, 1]) as float in [0, 1] with the
    central box set to ``fill``: the object's region left out (module docstring)."""
    if images.ndim != 4:
        raise ValueError(f"images must be [N, C, H, W], got shape {tuple(images.shape)}")
    if not 0 <= fill <= 1:
        raise ValueError(f"fill = {fill}: the masked box's value must be in [0, 1]")
    top, left, bottom, right = central_box(images.shape[-2], images.shape[-1], box)
    cropped = as_float_images(images).clone()
    cropped[..., top:bottom, left:right] = fill
    return cropped


@dataclass(frozen=True)
class LabelInference:
    """The kNN guess of each query image's label: ``predicted`` ``[N]`` and ``confidence``
    ``[N]``, the fraction of the k neighbours that carry the predicted label."""

    predicted: np.ndarray
    confidence: np.ndarray


def infer_labels(
    network: nn.Module,
    queries: torch.Tensor,
    public_images: torch.Tensor,
    public_labels: torch.Tensor,
    *,
    k: int = DEFAULT_K,
    tap: str = "embedding",
    num_classes: int | None = None,
    batch_size: int = 512,
    device: torch.device | str | None = None,
) -> LabelInference:
    """Guess the labels of ``queries`` (already cropped) by the majority label of their k
    nearest public images in ``network``'s ``tap`` (cosine similarity, ``probes.knn_votes``);
    the public images are embedded whole."""
    if k > len(public_images):
        raise ValueError(
            f"k = {k} is more than the {len(public_images)} public images: lower dejavu.k or "
            "enlarge the public set"
        )
    options = dict(batch_size=batch_size, device=device)
    public = extract_features(network, public_images, [tap], **options)[tap]
    embedded = extract_features(network, queries, [tap], **options)[tap]
    votes = knn_votes(public, public_labels, embedded, k=k, num_classes=num_classes)
    predicted = votes.argmax(dim=1)  # ties: the smallest label, as knn_predict
    confidence = votes.gather(1, predicted[:, None])[:, 0] / k
    return LabelInference(predicted.cpu().numpy(), confidence.cpu().numpy())


@dataclass(frozen=True)
class DejaVu:
    """Label inference of A and B on A's training images (module docstring)."""

    labels: np.ndarray
    a: LabelInference
    b: LabelInference

    @property
    def correct_a(self) -> np.ndarray:
        return self.a.predicted == self.labels

    @property
    def correct_b(self) -> np.ndarray:
        return self.b.predicted == self.labels

    @property
    def accuracy_a(self) -> float:
        return float(self.correct_a.mean())

    @property
    def accuracy_b(self) -> float:
        return float(self.correct_b.mean())

    @property
    def score(self) -> float:
        """The Déjà Vu score: A's label-inference accuracy minus B's, on A's images."""
        return self.accuracy_a - self.accuracy_b

    def groups(self) -> np.ndarray:
        """Each image's group (``GROUPS``): memorized = A right and B wrong, correlated = both
        right, misrepresented = A wrong and B right, unassociated = both wrong."""
        a, b = self.correct_a, self.correct_b
        return np.select([a & ~b, a & b, ~a & b], list(GROUPS[:3]), GROUPS[3])

    def fractions(self) -> dict[str, float]:
        groups = self.groups()
        return {name: float((groups == name).mean()) for name in GROUPS}


def dejavu(
    network_a: nn.Module,
    network_b: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    public_images: torch.Tensor,
    public_labels: torch.Tensor,
    *,
    k: int = DEFAULT_K,
    box: float = 0.5,
    fill: float = 0.5,
    tap: str = "embedding",
    num_classes: int | None = None,
    batch_size: int = 512,
    device: torch.device | str | None = None,
) -> DejaVu:
    """Déjà Vu of A (``network_a``, trained on ``images``) against B (``network_b``, trained on
    a disjoint set): both guess the labels of the periphery crops of ``images`` from the full
    ``public_images`` (disjoint from both training sets; the caller's to ensure)."""
    if len(images) != len(labels) or len(public_images) != len(public_labels):
        raise ValueError(
            f"{len(images)} images with {len(labels)} labels, {len(public_images)} public images "
            f"with {len(public_labels)} labels: need one label per image"
        )
    classes = num_classes or int(max(labels.max(), public_labels.max())) + 1
    crops = periphery_crop(images, box, fill)
    options = dict(k=k, tap=tap, num_classes=classes, batch_size=batch_size, device=device)
    guess_a = infer_labels(network_a, crops, public_images, public_labels, **options)
    guess_b = infer_labels(network_b, crops, public_images, public_labels, **options)
    return DejaVu(labels.cpu().numpy(), guess_a, guess_b)
