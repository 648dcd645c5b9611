"""Split-half reliability of per-image scores, Spearman-Brown, noise ceilings, pairs: auto."""

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from mnemoscope.analysis import reliability


def simulated(n: int, pairs: int, noise: float, seed: int, signal=None):
    """Per-pair distances of one f and one g encoder whose eq. 2 score is signal (variance 1)
    plus independent per-pair noise of sd ``noise``: true reliability 1 / (1 + noise^2 / A)."""
    generator = np.random.default_rng(seed)
    signal = generator.standard_normal(n) if signal is None else signal
    pairs_g = 0.5 + signal[None, :, None] + noise * generator.standard_normal((1, n, pairs))
    return np.full((1, n, pairs), 0.5), pairs_g, signal


def test_spearman_brown_and_pairs_for_invert_each_other():
    assert reliability.spearman_brown(0.5, 2) == pytest.approx(2 / 3)
    assert reliability.spearman_brown(0.5, 1) == pytest.approx(0.5)
    needed = reliability.pairs_for(0.5, 5, 0.8)  # rho 0.5 at 5 pairs: 0.8 at 20
    assert needed == 20
    assert reliability.spearman_brown(0.5, needed / 5) == pytest.approx(0.8)
    assert reliability.pairs_for(0.9, 5, 0.8) == 5
    assert reliability.pairs_for(-0.1, 5, 0.8) > 10**6  # no signal: no finite number
    with pytest.raises(ValueError, match="target reliability 1.5"):
        reliability.pairs_for(0.5, 5, 1.5)


@pytest.mark.parametrize(("pairs", "noise"), [(10, math.sqrt(10)), (5, 1.0), (4, 4.0)])
def test_split_half_recovers_the_reliability_of_a_simulated_score(pairs, noise):
    pairs_f, pairs_g, _ = simulated(3000, pairs, noise, seed=pairs)
    found = reliability.split_half(pairs_f, pairs_g)
    assert found.pairs == pairs and found.n == 3000
    assert found.reliability == pytest.approx(1 / (1 + noise**2 / pairs), abs=0.03)
    # over chosen points only (a mask), the same quantity
    mask = np.arange(3000) % 2 == 0
    assert reliability.split_half(pairs_f, pairs_g, mask).n == 1500


def test_split_half_is_undefined_with_one_pair_or_no_variance():
    pairs_f, pairs_g, _ = simulated(50, 1, 1.0, seed=0)
    assert math.isnan(reliability.split_half(pairs_f, pairs_g).reliability)
    flat = np.zeros((2, 50, 4))
    assert math.isnan(reliability.split_half(flat, flat).reliability)
    with pytest.raises(ValueError, match="must be \\[K, N, A\\]"):
        reliability.split_half(flat[0], flat)


def test_noise_ceiling_is_what_two_noisy_scores_of_one_signal_agree_at():
    signal = np.random.default_rng(9).standard_normal(6000)
    a_f, a_g, _ = simulated(6000, 5, 1.0, seed=1, signal=signal)  # rho 5/6
    b_f, b_g, _ = simulated(6000, 5, 3.0, seed=2, signal=signal)  # rho 5/14
    rho_a = reliability.split_half(a_f, a_g).reliability
    rho_b = reliability.split_half(b_f, b_g).reliability
    pearson, tau = reliability.noise_ceiling(rho_a, rho_b)
    score_a, score_b = a_g.mean(axis=(0, 2)), b_g.mean(axis=(0, 2))
    assert np.corrcoef(score_a, score_b)[0, 1] == pytest.approx(pearson, abs=0.03)
    assert scipy_stats.kendalltau(score_a, score_b)[0] == pytest.approx(tau, abs=0.03)
    assert reliability.noise_ceiling(1.0, 1.0) == (1.0, 1.0)


def test_negative_reliabilities_give_a_zero_ceiling():
    # two scores without signal: negative split-half estimates must not make a ceiling
    assert reliability.noise_ceiling(-0.4, -0.5) == (0.0, 0.0)
    assert reliability.noise_ceiling(-0.4, 0.9) == (0.0, 0.0)
    assert reliability.spearman_ceiling(-0.2, -0.2) == 0.0
    assert np.isnan(reliability.noise_ceiling(np.nan, 0.5)[0])


def test_pairs_auto_draws_until_the_target_or_the_cap():
    signal = np.random.default_rng(3).standard_normal(800)
    calls = []

    def draw(index, count):  # new, independent views per draw
        calls.append((index, count))
        pairs_f, pairs_g, _ = simulated(800, count, 2.0, seed=100 + index, signal=signal)
        return pairs_f, pairs_g

    pairs_f, pairs_g, draws = reliability.draw_until_reliable(
        draw, None, first=5, target=0.8, max_pairs=60
    )  # rho = 1 / (1 + 4 / A): 0.56 at 5 pairs, 0.8 at 16
    assert [index for index, _ in calls] == list(range(len(draws))) and draws[0] == 5
    assert pairs_g.shape == (1, 800, sum(draws)) and 14 <= sum(draws) <= 24
    assert reliability.split_half(pairs_f, pairs_g).reliability >= 0.8
    calls.clear()
    _, capped, draws = reliability.draw_until_reliable(
        draw, None, first=5, target=0.99, max_pairs=12
    )
    assert sum(draws) == 12 == capped.shape[2]
    with pytest.raises(ValueError, match="first=20"):
        reliability.draw_until_reliable(draw, None, first=20, target=0.8, max_pairs=12)


def test_split_half_of_skips_halvings_that_score_too_few_images_and_uses_a_length():
    signal = np.random.default_rng(4).standard_normal(500)
    noise = np.random.default_rng(5).standard_normal((500, 4))

    def score(units):  # units 0 and 1 cannot be combined: that halving scores nothing
        if {0, 1} <= set(units.tolist()):
            return np.full(500, np.nan)
        return signal + noise[:, units].mean(axis=1)

    plain = reliability.split_half_of(score, 4, 500, splits=30)
    assert 0 < plain.half_r < 1  # halvings {0, 1} | {2, 3} were skipped, not fatal
    assert plain.reliability == pytest.approx(reliability.spearman_brown(plain.half_r, 2))
    longer = reliability.split_half_of(score, 4, 500, splits=30, length=lambda a, b, s: 3.0)
    assert longer.half_r == plain.half_r
    assert longer.reliability == pytest.approx(reliability.spearman_brown(plain.half_r, 3))
    nothing = reliability.split_half_of(lambda units: np.full(500, np.nan), 4, 500)
    assert math.isnan(nothing.reliability) and nothing.units == nothing.pairs == 4
