"""The leave-out score of a model pool (SSLMem eq. 2 / Feldman & Zhang) and its interval."""

import numpy as np
import pytest

from mnemoscope.analysis import pool
from tests.analysis.pools import pool as simulated_pool

VALUES = np.array(
    [[1.0, 2.0, 3.0, 0.0], [3.0, 4.0, 5.0, 0.0], [5.0, 6.0, 7.0, 0.0], [7.0, 8.0, 9.0, 0.0]]
)
INSIDE = np.array(
    [
        [True, False, True, False],
        [True, True, False, False],
        [False, True, False, False],
        [False, False, False, False],
    ]
)


def test_leave_out_score_by_hand_in_both_directions():
    # image 0: IN models 0, 1 -> (1 + 3) / 2 = 2; OUT 2, 3 -> (5 + 7) / 2 = 6
    # image 1: IN 1, 2 -> 5; OUT 0, 3 -> 5.   image 2: IN 0 -> 3; OUT 1, 2, 3 -> 7
    # image 3: no IN model -> NaN
    loss = pool.leave_out_score(VALUES, INSIDE, member_high=False)  # OUT - IN (eq. 2)
    assert loss[:3] == pytest.approx([4.0, 0.0, 4.0])
    probability = pool.leave_out_score(VALUES, INSIDE, member_high=True)  # IN - OUT
    assert probability[:3] == pytest.approx([-4.0, 0.0, -4.0])
    assert np.isnan(loss[3]) and np.isnan(probability[3])
    everyone = np.ones_like(INSIDE)  # no OUT model anywhere
    assert np.isnan(pool.leave_out_score(VALUES, everyone, member_high=True)).all()


def test_leave_out_score_per_view_averages_to_the_score_of_the_view_means():
    values, inside, _ = simulated_pool(6, 40, 1.0, seed=0, views=3)
    per_view = pool.leave_out_score(values, inside, member_high=False)
    assert per_view.shape == (40, 3)
    whole = pool.leave_out_score(values.mean(axis=2), inside, member_high=False)
    assert per_view.mean(axis=1) == pytest.approx(whole)


def test_leave_out_score_refuses_bad_shapes():
    with pytest.raises(ValueError, match=r"values \(4, 3\) and inside \(4, 4\)"):
        pool.leave_out_score(VALUES[:, :3], INSIDE, member_high=True)
    with pytest.raises(ValueError, match="boolean"):
        pool.leave_out_score(VALUES, INSIDE.astype(int), member_high=True)
    with pytest.raises(ValueError, match="NaN"):
        pool.leave_out_score(np.where(INSIDE, np.nan, VALUES), INSIDE, member_high=True)


def test_interval_over_models_covers_the_true_score_and_narrows_with_more_models():
    widths = []
    for models in (20, 60):
        values, inside, signal = simulated_pool(models, 1500, 1.0, seed=models)
        low, high = pool.leave_out_interval(values, inside, member_high=True, n_resamples=400)
        assert not np.isnan(low).any() and not np.isnan(high).any()
        score = pool.leave_out_score(values, inside, member_high=True)
        assert np.all(low <= score) and np.all(score <= high)
        # percentile bootstrap over K models: close to nominal, a little under at small K
        assert 0.85 < np.mean((low <= signal) & (signal <= high)) < 0.98
        widths.append(np.mean(high - low))
    # the noise of the score is sd sqrt(1/30 + 1/30) vs sqrt(4 / 20): the width follows
    assert widths[1] / widths[0] == pytest.approx(np.sqrt(20 / 60), rel=0.1)


def test_interval_is_a_point_without_model_noise_and_seeded():
    values, inside, signal = simulated_pool(12, 50, 0.0, seed=3)
    low, high = pool.leave_out_interval(values, inside, member_high=True, n_resamples=200)
    assert low == pytest.approx(signal) and high == pytest.approx(signal)
    noisy, inside, _ = simulated_pool(12, 50, 1.0, seed=3)
    first = pool.leave_out_interval(noisy, inside, member_high=False, seed=7, n_resamples=200)
    again = pool.leave_out_interval(noisy, inside, member_high=False, seed=7, n_resamples=200)
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])


def test_interval_is_nan_where_resamples_without_in_or_out_reach_the_tail():
    # 4 models, 2 IN per image: a resample lacks a side with probability 2 / 2^4 = 12.5%,
    # far beyond the 2.5% tail of a 95% interval
    values, inside, _ = simulated_pool(4, 30, 1.0, seed=4)
    low, high = pool.leave_out_interval(values, inside, member_high=True, n_resamples=500)
    assert np.isnan(low).all() and np.isnan(high).all()
    with pytest.raises(ValueError, match="average the views"):
        pool.leave_out_interval(values[..., None], inside, member_high=True)


def test_in_side_is_the_mean_over_the_in_models_by_hand():
    # image 0: IN 0, 1 -> 2; image 1: IN 1, 2 -> 5; image 2: IN 0 -> 3; image 3: none -> NaN
    found = pool.leave_out_score(VALUES, INSIDE, member_high=True, side="in")
    assert found[:3] == pytest.approx([2.0, 5.0, 3.0]) and np.isnan(found[3])
    assert pool.leave_out_score(VALUES, INSIDE, member_high=False, side="in")[:3] == (
        pytest.approx([-2.0, -5.0, -3.0])
    )
    with pytest.raises(ValueError, match="side"):
        pool.leave_out_score(VALUES, INSIDE, member_high=True, side="out")


def test_missing_values_count_on_no_side_by_hand():
    values = VALUES.copy()
    values[1, 0] = np.nan  # image 0 loses IN model 1: IN mean 1, OUT mean 6
    values[3, 2] = np.nan  # image 2 loses OUT model 3: IN 3, OUT (5 + 7) / 2 = 6
    with pytest.raises(ValueError, match="NaN"):
        pool.leave_out_score(values, INSIDE, member_high=False)
    found = pool.leave_out_score(values, INSIDE, member_high=False, missing=True)
    assert found[:3] == pytest.approx([5.0, 0.0, 3.0])
    values[0, 2] = np.nan  # image 2 now has no IN value at all
    assert np.isnan(pool.leave_out_score(values, INSIDE, member_high=False, missing=True)[2])
    with pytest.raises(ValueError, match="infinite"):
        pool.leave_out_score(np.where(INSIDE, np.inf, VALUES), INSIDE, member_high=True,
                             missing=True)  # fmt: skip


def test_interval_of_the_in_side_and_with_missing_values():
    values, inside, signal = simulated_pool(30, 800, 1.0, seed=9)
    low, high = pool.leave_out_interval(values, inside, member_high=True, side="in",
                                        n_resamples=300)  # fmt: skip
    score = pool.leave_out_score(values, inside, member_high=True, side="in")
    assert np.all(low <= score) and np.all(score <= high)
    assert 0.85 < np.mean((low <= signal) & (signal <= high)) < 0.98  # IN mean = signal + noise
    holed = values.copy()
    holed[0] = np.nan  # model 0 has no value: the same as leaving it out
    with_missing = pool.leave_out_interval(holed, inside, member_high=True, missing=True,
                                           n_resamples=50, seed=1)  # fmt: skip
    assert not np.isnan(with_missing[0]).any()
    assert pool.leave_out_score(holed, inside, member_high=True, missing=True) == pytest.approx(
        pool.leave_out_score(values[1:], inside[1:], member_high=True)
    )
