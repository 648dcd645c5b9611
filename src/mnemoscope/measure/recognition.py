"""The recognition indicator I_theta of paper 001 and the probability of the correct answer.

Paper 001 (section 3, appendix B) calls an image (or image-augmentation pair) x~ *recognized* by a
network theta when the network solves its training task on it: I_theta(x~) = 1, else 0.

Classification (supervised and random labels), with logits l(x~) and training label y(x):

    I_theta(x~) = 1  iff  l_y(x~) > max_{k != y} l_k(x~)                                     (a)
    q_theta(x~)  = softmax(l(x~) / tau)_y,      tau = 1 (paper 001, section 3)

SimCLR is classification among the 2B - 1 other views of a batch (paper 001, section 2): the
correct class of a view is its partner. With z the l2-normalized outputs of the 2B views of an
evaluation batch (views a_i and b_i of image i), s_uv = z_u . z_v (cosine similarity) and p(u)
the partner of view u:

    hit(u)   = 1  iff  s_{u,p(u)} > max_{v not in {u, p(u)}} s_uv                           (b)
    q(u)     = exp(s_{u,p(u)} / tau) / sum_{v != u} exp(s_uv / tau),   tau = 0.07 (paper 001)

Ties count as failures in (a) and (b): "the most similar view is the partner" only holds when
it is the unique maximum. This matters for a collapsed network, whose views are all equally
similar: a first-index argmax would then call some pairs recognized at random.

Two indicators of a pair are offered. mnemoscope's (``mutual``): both directions of a pair
(a_i finds b_i, b_i finds a_i) are evaluated, and the pair's indicator is their conjunction, its
probability their mean:

    I_theta(x~_i) = hit(a_i) * hit(b_i),      q_theta(x~_i) = (q(a_i) + q(b_i)) / 2

Why the conjunction: appendix B's binomial null (eq. 3) needs exactly one Bernoulli trial per
(network, image-augmentation pair). Counting each direction as its own trial would give 2N
trials that are far from independent (s_ab = s_ba is shared, so the two directions usually
agree), and the chi-square test against Bin(2N, p) would then reject for every paradigm, SimCLR
included, through over-dispersion alone. The mean of the two directions is not a Bernoulli
variable at all. A pair is recognized when each view picks the other (mutual nearest
neighbours), which is one binary outcome that uses both directions. The probability keeps the
mean, as the NT-Xent loss does (``nt_xent_per_example`` averages the two directions).

The paper authors' (``anchor``, what their code computes: isadrtdinov/SimCLR ``estimate.py``
takes ``argmax(logits) == 0`` with the partner in column 0, and the analysis notebook keeps the
first view of each pair as the anchor): one direction only, view a_i as the anchor finding b_i,
with ties counted as hits (argmax returns the first of equal maxima, and the partner comes first):

    I_theta(x~_i) = 1  iff  s_{a_i,b_i} >= max_{v not in {a_i, b_i}} s_{a_i,v}                  (c)

Evaluation batches (paper 001 leaves them open): the n images are taken in the order given, in
consecutive batches of B. When n is not a multiple of B, the last batch is completed with the
first images of the set, which serve as negatives only, so every pair competes against exactly
2B - 2 other views.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Recognition:
    """Per-example results: ``correct`` bool [n] (I_theta) and ``probability`` float32 [n]
    (softmax probability of the correct answer)."""

    correct: torch.Tensor
    probability: torch.Tensor


def strict_hits(scores: torch.Tensor, answer: torch.Tensor, ties: str = "miss") -> torch.Tensor:
    """Rows whose ``answer`` column scores strictly above every other column (eq. a / b), or at
    least as high with ``ties="hit"`` (eq. c).

    ``scores`` [n, K] may hold -inf for excluded columns (a view's similarity to itself);
    ``answer`` [n] int64. Returns bool [n].
    """
    if ties not in ("miss", "hit"):
        raise ValueError(f"ties={ties!r}: expected 'miss' or 'hit'")
    rows = torch.arange(scores.shape[0], device=scores.device)
    correct_score = scores[rows, answer]
    others = scores.clone()
    others[rows, answer] = float("-inf")
    best_other = others.max(dim=1).values
    return correct_score >= best_other if ties == "hit" else correct_score > best_other


def classification_recognition(
    logits: torch.Tensor, targets: torch.Tensor, temperature: float = 1.0
) -> Recognition:
    """I_theta and q_theta for classification, eq. (a): ``logits`` [n, K], ``targets`` [n]."""
    if logits.ndim != 2 or targets.shape != logits.shape[:1]:
        raise ValueError(
            f"logits must be [n, K] and targets [n]; got {tuple(logits.shape)} and "
            f"{tuple(targets.shape)}"
        )
    if temperature <= 0:
        raise ValueError(f"temperature={temperature} must be > 0")
    if logits.shape[1] < 2:
        raise ValueError(f"{logits.shape[1]} logit per example: classification needs K >= 2")
    targets = targets.to(device=logits.device, dtype=torch.long)
    if len(targets) and (int(targets.min()) < 0 or int(targets.max()) >= logits.shape[1]):
        raise ValueError(
            f"targets range over {int(targets.min())}..{int(targets.max())}, outside the "
            f"{logits.shape[1]} classes of the logits"
        )
    logits = logits.float()
    probability = F.softmax(logits / temperature, dim=1).gather(1, targets[:, None]).squeeze(1)
    return Recognition(strict_hits(logits, targets), probability)


def view_recognition(
    z_a: torch.Tensor, z_b: torch.Tensor, batch_size: int, temperature: float, ties: str = "miss"
) -> tuple[Recognition, Recognition]:
    """Eq. (b) for every view, in evaluation batches of ``batch_size`` images (eq. c's
    comparison with ``ties="hit"``).

    ``z_a``, ``z_b`` [n, d]: the outputs of the two views of each of n images, in batch order.
    Returns (a finds b, b finds a), each with ``correct`` and ``probability`` of shape [n].
    """
    if z_a.ndim != 2 or z_a.shape != z_b.shape:
        raise ValueError(
            f"z_a and z_b must both be [n, d]; got {tuple(z_a.shape)} and {tuple(z_b.shape)}"
        )
    count = z_a.shape[0]
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 2:
        raise ValueError(f"batch_size={batch_size!r}: an evaluation batch needs >= 2 images")
    if batch_size > count:
        raise ValueError(
            f"batch_size={batch_size} is larger than the {count} images evaluated: use at most "
            f"{count} so that every batch holds distinct images"
        )
    if temperature <= 0:
        raise ValueError(f"temperature={temperature} must be > 0")
    z_a = F.normalize(z_a.float(), dim=1)
    z_b = F.normalize(z_b.float(), dim=1)
    hits = torch.empty(2, count, dtype=torch.bool, device=z_a.device)
    probability = torch.empty(2, count, dtype=torch.float32, device=z_a.device)
    for start in range(0, count, batch_size):
        stop = min(start + batch_size, count)
        measured = stop - start
        # A short last batch is completed with the first images: negatives only, never scored.
        members = torch.cat([torch.arange(start, stop), torch.arange(batch_size - measured)])
        members = members.to(z_a.device)
        z = torch.cat([z_a[members], z_b[members]])  # [2B, d]: a-views, then b-views
        similarity = z @ z.T
        similarity.fill_diagonal_(float("-inf"))  # a view is never its own candidate
        anchors = torch.cat([torch.arange(measured), batch_size + torch.arange(measured)])
        anchors = anchors.to(z.device)
        partners = torch.cat([anchors[measured:], anchors[:measured]])
        rows = similarity[anchors]
        batch_hits = strict_hits(rows, partners, ties)
        batch_probability = F.softmax(rows / temperature, dim=1)
        batch_probability = batch_probability.gather(1, partners[:, None]).squeeze(1)
        hits[:, start:stop] = batch_hits.view(2, measured)
        probability[:, start:stop] = batch_probability.view(2, measured)
    return (
        Recognition(hits[0], probability[0]),
        Recognition(hits[1], probability[1]),
    )


def pair_recognition(
    z_a: torch.Tensor, z_b: torch.Tensor, batch_size: int, temperature: float
) -> Recognition:
    """SimCLR's I_theta for each image-augmentation pair: both directions recognized (module
    docstring), with the mean of the two directions' probabilities."""
    forward, backward = view_recognition(z_a, z_b, batch_size, temperature)
    return Recognition(
        forward.correct & backward.correct, (forward.probability + backward.probability) / 2
    )


def anchor_recognition(
    z_a: torch.Tensor, z_b: torch.Tensor, batch_size: int, temperature: float
) -> Recognition:
    """The paper authors' SimCLR indicator, eq. (c): view a as the anchor finds view b, ties
    counted as hits; the probability is that direction's softmax probability of the partner."""
    forward, _ = view_recognition(z_a, z_b, batch_size, temperature, ties="hit")
    return forward
