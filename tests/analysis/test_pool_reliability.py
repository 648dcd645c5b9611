"""Split-half reliability of a model pool's leave-out score, over models and over views."""

import math

import numpy as np
import pytest

from mnemoscope.analysis import pool_reliability, reliability
from mnemoscope.analysis.pool import leave_out_score
from tests.analysis.pools import pool


@pytest.mark.parametrize(("models", "noise"), [(16, 1.0), (16, 2.0), (24, 3.0)])
def test_model_split_half_recovers_the_closed_form(models, noise):
    # every image IN for exactly K/2 models: the leave-out score is signal (variance 1) plus
    # noise of variance noise^2 (2/K + 2/K), so its reliability is K / (K + 4 noise^2)
    values, inside, _ = pool(models, 4000, noise, seed=models)
    found = pool_reliability.model_split_half(values, inside, member_high=True)
    assert found.units == models and found.n == 4000
    assert found.reliability == pytest.approx(models / (models + 4 * noise**2), abs=0.03)


def test_classical_length_is_spearman_brown_doubling_and_runs_low():
    values, inside, _ = pool(16, 4000, 2.0, seed=5)
    closed = 16 / (16 + 4 * 2.0**2)  # 0.5
    classical = pool_reliability.model_split_half(
        values, inside, member_high=True, effective_length=False
    )
    assert classical.reliability == pytest.approx(2 * classical.half_r / (1 + classical.half_r))
    effective = pool_reliability.model_split_half(values, inside, member_high=True)
    assert effective.half_r == classical.half_r  # the same halvings, another correction
    # halves of 8 models hold an image 1 IN / 7 OUT at times: doubling undercorrects
    assert classical.reliability < effective.reliability
    assert abs(effective.reliability - closed) < abs(classical.reliability - closed)


def test_view_split_half_recovers_the_closed_form_over_views():
    # noise per model and view: each view's leave-out score is signal + noise of variance
    # noise^2 (2/K + 2/K) = v_e; over A views the reliability is A / (A + v_e)
    models, views, noise = 4, 6, 1.5
    values, inside, _ = pool(models, 4000, noise, seed=11, views=views)
    per_view_noise = noise**2 * 4 / models
    found = pool_reliability.view_split_half(values, inside, member_high=True)
    assert found.units == views
    assert found.reliability == pytest.approx(views / (views + per_view_noise), abs=0.03)
    with pytest.raises(ValueError, match=r"\[K, N, A\]"):
        pool_reliability.view_split_half(values[..., 0], inside, member_high=True)


def test_view_split_is_the_same_computation_as_the_fixed_design_split_half():
    # f = the IN models, g = the OUT models of a design where all images share them
    values, _, _ = pool(6, 300, 1.0, seed=2, views=5)
    inside = np.zeros((6, 300), dtype=bool)
    inside[:2] = True
    found = pool_reliability.view_split_half(values, inside, member_high=False, seed=4)
    fixed = reliability.split_half(values[:2], values[2:], seed=4)
    assert found.reliability == pytest.approx(fixed.reliability)


def test_pure_noise_has_no_reliability_and_an_exact_score_has_one():
    generator = np.random.default_rng(8)
    _, inside, signal = pool(16, 3000, 0.0, seed=8)
    noise = generator.standard_normal(inside.shape)  # nothing depends on membership
    exact = inside * signal  # every subset of models scores signal exactly
    rho_noise = pool_reliability.model_split_half(noise, inside, member_high=True).reliability
    rho_exact = pool_reliability.model_split_half(exact, inside, member_high=True).reliability
    assert rho_exact == pytest.approx(1.0)
    assert abs(rho_noise) < 0.06
    pearson, tau = reliability.noise_ceiling(rho_noise, rho_exact)
    assert pearson < 0.25 and tau < 0.17  # sqrt of a near-zero reliability


def test_points_restrict_the_images():
    values, inside, _ = pool(8, 200, 1.0, seed=1)
    mask = np.arange(200) < 50
    assert pool_reliability.model_split_half(values, inside, member_high=True, points=mask).n == 50


def test_reliability_curve_rises_with_models_and_meets_the_full_pool():
    models, noise = 16, 2.0
    values, inside, _ = pool(models, 3000, noise, seed=3)
    curve = pool_reliability.reliability_curve(values, inside, member_high=True, draws=4)
    assert curve["k"].tolist() == [2, 4, 6, 8, 10, 12, 14, 16]
    assert math.isnan(curve["reliability"].iloc[0]) and curve["draws"].iloc[0] == 0
    defined = curve.iloc[1:]
    assert (defined["draws"] == 4).all()
    assert np.all(np.diff(defined["reliability"]) > 0)
    full = pool_reliability.model_split_half(values, inside, member_high=True).reliability
    assert defined["reliability"].iloc[-1] == pytest.approx(full, abs=0.02)
    assert defined["predicted"].iloc[-1] == pytest.approx(full)
    # Spearman-Brown from K predicts the measured reliability at fewer models
    late = defined[defined["k"] >= 8]
    assert late["predicted"].to_numpy() == pytest.approx(late["reliability"].to_numpy(), abs=0.05)
    with pytest.raises(ValueError, match="2..K=16"):
        pool_reliability.reliability_curve(values, inside, member_high=True, ks=[20])


def test_models_for_a_target_reliability():
    # rho 0.5 at 8 models: Spearman-Brown reaches 0.8 at 8 * 0.8 * 0.5 / (0.5 * 0.2) = 32
    assert reliability.count_for(0.5, 8) == 32
    assert reliability.spearman_brown(0.5, 32 / 8) == pytest.approx(0.8)
    assert reliability.pairs_for is reliability.count_for


def test_a_half_without_both_sides_is_skipped_not_fatal():
    # 2 models: each half is one model, which cannot score any image
    values, inside, _ = pool(2, 50, 1.0, seed=0)
    assert math.isnan(
        pool_reliability.model_split_half(values, inside, member_high=True).reliability
    )
    # the per-half scores are the leave-out scores of the halves
    half = leave_out_score(values[:1], inside[:1], member_high=True)
    assert np.isnan(half).all()


def test_in_side_reliability_recovers_its_closed_form():
    # the IN mean is signal + noise over K/2 models: reliability 1 / (1 + 2 noise^2 / K)
    models, noise = 16, 3.0
    values, inside, _ = pool(models, 4000, noise, seed=21)
    found = pool_reliability.model_split_half(values, inside, member_high=True, side="in")
    assert found.reliability == pytest.approx(1 / (1 + 2 * noise**2 / models), abs=0.03)
    assert pool_reliability.noise_multiplier(inside, "in") == pytest.approx(
        np.full(4000, 2 / models)
    )


def test_a_transform_is_recomputed_within_each_half():
    values, inside, _ = pool(12, 500, 1.0, seed=22)
    plain = pool_reliability.model_split_half(values, inside, member_high=True, seed=3)
    seen = []

    def identity(chosen, members):
        seen.append(len(chosen))
        return chosen

    same = pool_reliability.model_split_half(values, inside, member_high=True, seed=3,
                                             transform=identity)  # fmt: skip
    assert same.reliability == pytest.approx(plain.reliability)
    assert set(seen) == {6}  # every call sees one half of the 12 models, never all of them

    def holes(chosen, members):  # a statistic that some half cannot give for image 0
        chosen = chosen.copy()
        chosen[:, 0] = np.nan
        return chosen

    holed = pool_reliability.model_split_half(values, inside, member_high=True, seed=3,
                                              transform=holes)  # fmt: skip
    assert holed.n == 500 and math.isfinite(holed.reliability)
    curve = pool_reliability.reliability_curve(values, inside, member_high=True, ks=[6, 12],
                                               draws=2, transform=identity)  # fmt: skip
    assert list(curve["k"]) == [6, 12] and curve["draws"].min() == 2
