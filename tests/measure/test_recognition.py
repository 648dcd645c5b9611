import math

import pytest
import torch

from mnemoscope.measure.recognition import (
    anchor_recognition,
    classification_recognition,
    pair_recognition,
    strict_hits,
    view_recognition,
)


def unit(degrees: float) -> list[float]:
    return [math.cos(math.radians(degrees)), math.sin(math.radians(degrees))]


# --- classification ---------------------------------------------------------------------------


def test_classification_recognizes_the_unique_argmax_and_gives_its_softmax_probability():
    logits = torch.tensor([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [1.0, 1.0, 0.0], [0.0, 0.0, 5.0]])
    targets = torch.tensor([0, 2, 0, 2])
    result = classification_recognition(logits, targets)
    # row 2: the target ties with another class -> not recognized
    assert result.correct.tolist() == [True, False, False, True]
    expected = torch.softmax(logits, dim=1)[torch.arange(4), targets]
    torch.testing.assert_close(result.probability, expected)


def test_classification_probability_uses_the_temperature():
    logits = torch.tensor([[2.0, 0.0]])
    result = classification_recognition(logits, torch.tensor([0]), temperature=2.0)
    assert result.probability.item() == pytest.approx(1 / (1 + math.exp(-1.0)))


@pytest.mark.parametrize(
    "logits, targets, temperature",
    [
        (torch.zeros(3, 4), torch.zeros(2, dtype=torch.long), 1.0),  # lengths differ
        (torch.zeros(3, 4), torch.tensor([0, 1, 4]), 1.0),  # class 4 of 4
        (torch.zeros(3, 4), torch.tensor([0, 1, 2]), 0.0),  # temperature
        (torch.zeros(3, 1), torch.tensor([0, 0, 0]), 1.0),  # one class
    ],
)
def test_classification_rejects_bad_input(logits, targets, temperature):
    with pytest.raises(ValueError):
        classification_recognition(logits, targets, temperature)


def test_strict_hits_ignores_minus_infinity_columns():
    scores = torch.tensor([[float("-inf"), 0.5, 0.2], [0.3, float("-inf"), 0.3]])
    assert strict_hits(scores, torch.tensor([1, 0])).tolist() == [True, False]


# --- SimCLR pairs -----------------------------------------------------------------------------


def hand_built_batch():
    """Three images, views on the unit circle (angles in degrees):
    image 0: a 0, b 10     -> each view's nearest is its partner (both directions)
    image 1: a 90, b 130   -> a1 finds b1 (40), but b1's nearest is a2 (30): one direction only
    image 2: a 160, b 250  -> a2's nearest is b1 (30), b2's nearest is a2 (90): the other one
    """
    z_a = torch.tensor([unit(0), unit(90), unit(160)])
    z_b = torch.tensor([unit(10), unit(130), unit(250)])
    return z_a, z_b


def test_both_directions_are_evaluated_and_a_pair_needs_both():
    z_a, z_b = hand_built_batch()
    forward, backward = view_recognition(z_a, z_b, batch_size=3, temperature=0.1)
    assert forward.correct.tolist() == [True, True, False]
    assert backward.correct.tolist() == [True, False, True]
    pair = pair_recognition(z_a, z_b, batch_size=3, temperature=0.1)
    assert pair.correct.tolist() == [True, False, False]
    torch.testing.assert_close(pair.probability, (forward.probability + backward.probability) / 2)


def test_cosine_similarity_ignores_the_norm_of_embeddings():
    z_a, z_b = hand_built_batch()
    scale = torch.tensor([[3.0], [0.5], [7.0]])
    forward, backward = view_recognition(z_a * scale, z_b / scale, 3, 0.1)
    assert forward.correct.tolist() == [True, True, False]
    assert backward.correct.tolist() == [True, False, True]


def test_a_tie_with_another_view_is_not_recognition():
    # a0 = (1, 0): its partner b0 and the other image's view a1 are both at 30 degrees, with
    # the very same x component, so their cosine similarities to a0 are exactly equal.
    c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
    z_a = torch.tensor([[1.0, 0.0], [c, -s]])
    z_b = torch.tensor([[c, s], [0.0, -1.0]])
    forward, _ = view_recognition(z_a, z_b, batch_size=2, temperature=0.5)
    assert forward.correct[0].item() is False
    # candidates of a0: a1 (cos c), b0 (cos c, the partner), b1 (cos 0)
    tau = 0.5
    expected = math.exp(c / tau) / (2 * math.exp(c / tau) + math.exp(0.0))
    assert forward.probability[0].item() == pytest.approx(expected, rel=1e-5)


def test_the_authors_anchor_indicator_is_one_direction_with_ties_as_hits():
    z_a, z_b = hand_built_batch()
    # view a as the anchor only: image 1 counts (a1 finds b1) although b1 does not find a1
    anchor = anchor_recognition(z_a, z_b, batch_size=3, temperature=0.1)
    assert anchor.correct.tolist() == [True, True, False]
    forward, _ = view_recognition(z_a, z_b, batch_size=3, temperature=0.1)
    torch.testing.assert_close(anchor.probability, forward.probability)
    # the exact tie of test_a_tie_with_another_view_is_not_recognition: a hit for the authors'
    # argmax, whose partner column comes first
    c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
    tied_a = torch.tensor([[1.0, 0.0], [c, -s]])
    tied_b = torch.tensor([[c, s], [0.0, -1.0]])
    assert anchor_recognition(tied_a, tied_b, batch_size=2, temperature=0.5).correct[0].item()
    # a collapsed network: every candidate ties, so every anchor "finds" its partner
    z = torch.ones(6, 4)
    assert anchor_recognition(z, z.clone(), batch_size=3, temperature=0.07).correct.all()


def test_strict_hits_rejects_an_unknown_tie_rule():
    with pytest.raises(ValueError, match="ties"):
        strict_hits(torch.zeros(2, 3), torch.tensor([0, 1]), ties="half")


def test_collapsed_embeddings_recognize_nothing():
    z = torch.ones(6, 4)
    pair = pair_recognition(z, z.clone(), batch_size=3, temperature=0.07)
    assert not pair.correct.any()
    # 2B - 1 = 5 equally similar candidates
    torch.testing.assert_close(pair.probability, torch.full((6,), 1 / 5))


def test_images_in_different_batches_do_not_compete():
    # images 0 and 1 interleave (a0 0, a1 0.5, b0 1, b1 1.5 degrees): a0's nearest view is a1,
    # and a1 is as near to a0 as to b0. Images 2 and 3 are far from everything else.
    z_a = torch.tensor([unit(0), unit(0.5), unit(90), unit(180)])
    z_b = torch.tensor([unit(1), unit(1.5), unit(91), unit(181)])
    together = pair_recognition(z_a, z_b, batch_size=2, temperature=0.1).correct
    assert together.tolist() == [False, False, True, True]
    apart = [0, 2, 1, 3]  # batches {0, 2} and {1, 3}
    assert pair_recognition(z_a[apart], z_b[apart], batch_size=2, temperature=0.1).correct.all()


def reference_view_hits(z_a, z_b, batch_size, temperature):
    """Loop version of the documented rule, with the same padding of the last batch."""
    n = len(z_a)
    z_a = torch.nn.functional.normalize(z_a, dim=1)
    z_b = torch.nn.functional.normalize(z_b, dim=1)
    hits = torch.zeros(2, n, dtype=torch.bool)
    probability = torch.zeros(2, n)
    for start in range(0, n, batch_size):
        measured = list(range(start, min(start + batch_size, n)))
        members = measured + list(range(batch_size - len(measured)))
        views = [(i, "a") for i in members] + [(i, "b") for i in members]
        vectors = {(i, "a"): z_a[i] for i in members} | {(i, "b"): z_b[i] for i in members}
        for direction, side in enumerate("ab"):
            for i in measured:
                anchor = (i, side)
                partner = (i, "b" if side == "a" else "a")
                others = [v for v in views if v != anchor]
                sims = torch.stack([vectors[anchor] @ vectors[v] for v in others])
                best_other = max(
                    (vectors[anchor] @ vectors[v]).item() for v in others if v != partner
                )
                partner_sim = (vectors[anchor] @ vectors[partner]).item()
                hits[direction, i] = partner_sim > best_other
                weights = torch.softmax(sims / temperature, dim=0)
                probability[direction, i] = weights[others.index(partner)]
    return hits, probability


@pytest.mark.parametrize("n, batch_size", [(7, 3), (6, 3), (5, 5), (9, 4)])
def test_matches_a_loop_reference_including_a_padded_last_batch(n, batch_size):
    generator = torch.Generator().manual_seed(n * 10 + batch_size)
    z_a = torch.randn(n, 5, generator=generator)
    z_b = z_a + 0.9 * torch.randn(n, 5, generator=generator)
    forward, backward = view_recognition(z_a, z_b, batch_size, 0.3)
    hits, probability = reference_view_hits(z_a, z_b, batch_size, 0.3)
    assert forward.correct.tolist() == hits[0].tolist()
    assert backward.correct.tolist() == hits[1].tolist()
    torch.testing.assert_close(forward.probability, probability[0])
    torch.testing.assert_close(backward.probability, probability[1])


@pytest.mark.parametrize("batch_size", [1, 6, 2.5])
def test_pair_recognition_rejects_bad_batch_sizes(batch_size):
    z = torch.randn(5, 3)
    with pytest.raises(ValueError, match="batch_size"):
        pair_recognition(z, z, batch_size, 0.1)


def test_pair_recognition_rejects_mismatched_embeddings():
    with pytest.raises(ValueError, match="z_a and z_b"):
        pair_recognition(torch.randn(5, 3), torch.randn(4, 3), 2, 0.1)
