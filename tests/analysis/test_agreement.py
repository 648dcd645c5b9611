"""Pairwise agreement of scores, read against the noise ceilings of their reliabilities."""

import numpy as np
import pytest

from mnemoscope.analysis import reliability
from mnemoscope.analysis.agreement import COLUMNS, score_agreement


def noisy_copies(n: int, noises, seed: int):
    generator = np.random.default_rng(seed)
    signal = generator.standard_normal(n)
    scores = {f"s{noise:g}": signal + noise * generator.standard_normal(n) for noise in noises}
    # reliability of signal + noise: 1 / (1 + noise^2)
    return scores, {name: 1 / (1 + noise**2) for name, noise in zip(scores, noises, strict=True)}


def test_noisy_copies_of_one_signal_agree_at_their_ceilings():
    scores, rhos = noisy_copies(8000, (0.5, 1.0, 2.0), seed=0)
    table = score_agreement(scores, rhos, k=400)
    assert list(table.columns) == COLUMNS
    assert list(zip(table["a"], table["b"], strict=True)) == [
        ("s0.5", "s1"),
        ("s0.5", "s2"),
        ("s1", "s2"),
    ]
    for row in table.itertuples():
        product = rhos[row.a] * rhos[row.b]
        assert row.pearson_ceiling == pytest.approx(np.sqrt(product))
        assert row.kendall_ceiling == pytest.approx(2 / np.pi * np.arcsin(np.sqrt(product)))
        assert row.spearman_ceiling == pytest.approx(6 / np.pi * np.arcsin(np.sqrt(product) / 2))
        # one signal under the noise: each correlation sits at its ceiling ...
        assert row.pearson == pytest.approx(row.pearson_ceiling, abs=0.03)
        assert row.spearman == pytest.approx(row.spearman_ceiling, abs=0.03)
        assert row.kendall == pytest.approx(row.kendall_ceiling, abs=0.03)
        # ... and Spearman's correction recovers the perfect agreement of the signals
        assert row.disattenuated == pytest.approx(1.0, abs=0.04)
        assert row.pearson_p < 1e-10 and row.spearman_p < 1e-10 and row.kendall_p < 1e-10
        assert row.n == 8000 and row.top_k == 400 and row.top_k_chance == pytest.approx(0.05)
        assert row.top_k_chance < row.top_k_overlap <= 1


def test_unrelated_scores_and_missing_values():
    generator = np.random.default_rng(1)
    a, b = generator.standard_normal(500), generator.standard_normal(500)
    a[:100] = np.nan  # not scored: left out of the pair only
    table = score_agreement({"a": a, "b": b}, {"a": 0.9}, k=50)
    row = table.iloc[0]
    assert row["n"] == 400
    assert abs(row["spearman"]) < 0.12 and row["spearman_p"] > 0.01
    assert np.isnan(row["reliability_b"]) and np.isnan(row["disattenuated"])


def test_top_k_overlap_by_hand_and_k_capped_at_n():
    a = np.array([5.0, 4.0, 3.0, 2.0, 1.0])
    b = np.array([5.0, 1.0, 4.0, 3.0, 2.0])  # top 2: a {0, 1}, b {0, 2}: overlap 1 / 2
    row = score_agreement({"a": a, "b": b}, k=2).iloc[0]
    assert row["top_k_overlap"] == 0.5 and row["top_k_chance"] == pytest.approx(0.4)
    assert score_agreement({"a": a, "b": b}, k=50).iloc[0]["top_k"] == 5


def test_disattenuate_and_spearman_ceiling():
    assert reliability.disattenuate(0.4, 0.5, 0.8) == pytest.approx(0.4 / np.sqrt(0.4))
    assert np.isnan(reliability.disattenuate(0.4, 0.0, 0.8))
    assert reliability.spearman_ceiling(1.0, 1.0) == pytest.approx(1.0)
    assert reliability.spearman_ceiling(0.0, 1.0) == 0.0


def test_agreement_refuses_bad_input():
    with pytest.raises(ValueError, match="at least two"):
        score_agreement({"a": np.zeros(3)})
    with pytest.raises(ValueError, match="same images"):
        score_agreement({"a": np.zeros(3), "b": np.zeros(4)})
