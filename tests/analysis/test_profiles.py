import numpy as np
import pytest
from scipy import stats

from mnemoscope.analysis.profiles import (
    align_epochs,
    augmentation_recognition,
    averaged_recognition,
    binomial_chi2,
    binomial_mae,
    binomial_profile,
    fixed_recognition,
    pooled_bins,
    sorted_profile,
)


def test_averaged_and_fixed_recognition_follow_eq_1_and_2():
    # [seed=2, epoch=1, augmentation=2, example=3]
    indicators = np.array([[[[1, 0, 0], [1, 1, 0]]], [[[1, 0, 1], [0, 1, 0]]]], dtype=np.uint8)
    np.testing.assert_allclose(averaged_recognition(indicators), [[3 / 4, 2 / 4, 1 / 4]])
    # fig. 4: one value per augmentation, averaged over seeds only
    np.testing.assert_allclose(
        augmentation_recognition(indicators), [[[1.0, 0.0, 0.5], [0.5, 1.0, 0.0]]]
    )
    fixed = np.array([[[1, 0, 1]], [[1, 1, 0]], [[0, 0, 1]]], dtype=np.uint8)  # [3, 1, 3]
    np.testing.assert_allclose(fixed_recognition(fixed), [[2 / 3, 1 / 3, 2 / 3]])


def test_recognition_rejects_wrong_shapes():
    with pytest.raises(ValueError, match="4 dimensions"):
        averaged_recognition(np.zeros((2, 3, 4), dtype=np.uint8))
    with pytest.raises(ValueError, match="3 dimensions"):
        fixed_recognition(np.zeros((2, 3), dtype=np.uint8))


def test_sorted_profile_sorts_each_epoch_independently():
    values = np.array([[0.5, 0.1, 0.9], [0.2, 0.8, 0.0]])
    np.testing.assert_allclose(sorted_profile(values), [[0.1, 0.5, 0.9], [0.0, 0.2, 0.8]])


def test_binomial_profile_is_sorted_and_on_the_trial_grid():
    profile = binomial_profile(0.3, 7, 500, np.random.default_rng(0))
    assert np.all(np.diff(profile) >= 0)
    np.testing.assert_allclose(profile * 7, np.round(profile * 7))
    assert abs(profile.mean() - 0.3) < 0.03


def test_binomial_mae_is_near_zero_under_the_null_and_large_for_easy_and_hard_images():
    rng = np.random.default_rng(1)
    null = rng.binomial(30, 0.4, size=1000) / 30
    mixture = np.concatenate([rng.binomial(30, 0.1, 500), rng.binomial(30, 0.9, 500)]) / 30
    null_mae, null_sd = binomial_mae(null, 30, draws=10, seed=0)
    mixture_mae, _ = binomial_mae(mixture, 30, draws=10, seed=0)
    # under the null only sampling noise remains: about sd(p) / sqrt(|X|) per rank
    assert null_mae < 0.015
    assert 0 < null_sd < 0.01
    # half the images at 0.1 and half at 0.9, against a binomial centred on 0.5
    assert mixture_mae > 0.25
    assert mixture_mae > 20 * null_mae


def test_binomial_mae_is_reproducible_from_its_seed():
    values = np.random.default_rng(2).random(100)
    assert binomial_mae(values, 10, seed=3) == binomial_mae(values, 10, seed=3)
    assert binomial_mae(values, 10, seed=3) != binomial_mae(values, 10, seed=4)


def test_pooled_bins_cover_every_outcome_with_enough_expected_counts():
    expected = 1000 * stats.binom.pmf(np.arange(31), 30, 0.2)
    groups = pooled_bins(expected, 5.0)
    np.testing.assert_array_equal(np.concatenate(groups), np.arange(31))
    assert all(expected[group].sum() >= 5.0 for group in groups)
    assert len(groups) > 5


def test_chi2_statistic_matches_scipy_on_the_pooled_bins():
    counts = np.random.default_rng(3).binomial(20, 0.35, size=800)
    result = binomial_chi2(counts, 20)
    p_hat = counts.mean() / 20
    expected = 800 * stats.binom.pmf(np.arange(21), 20, p_hat)
    groups = pooled_bins(expected)
    observed = np.bincount(counts, minlength=21)
    reference = stats.chisquare(
        [observed[g].sum() for g in groups], [expected[g].sum() for g in groups], ddof=1
    )
    assert result.statistic == pytest.approx(reference.statistic)
    assert result.p_value == pytest.approx(reference.pvalue)
    assert result.dof == len(groups) - 2
    assert result.p_hat == pytest.approx(p_hat)


def test_chi2_p_values_are_roughly_uniform_under_the_null():
    rng = np.random.default_rng(4)
    p_values = np.array(
        [binomial_chi2(rng.binomial(30, 0.3, size=1000), 30).p_value for _ in range(300)]
    )
    assert stats.kstest(p_values, "uniform").pvalue > 0.001
    # fraction below 0.05: 0.05 within about 3.5 binomial standard deviations (300 repeats)
    assert 0.05 - 0.045 < np.mean(p_values < 0.05) < 0.05 + 0.045


def test_chi2_rejects_a_mixture_of_easy_and_hard_pairs():
    rng = np.random.default_rng(5)
    counts = np.concatenate([rng.binomial(30, 0.2, 500), rng.binomial(30, 0.6, 500)])
    assert binomial_chi2(counts, 30).p_value < 1e-6


def test_chi2_without_spread_has_no_test():
    result = binomial_chi2(np.zeros(100, dtype=int), 10)
    assert np.isnan(result.statistic) and np.isnan(result.p_value)


@pytest.mark.parametrize(
    "counts, trials", [(np.array([0, 11]), 10), (np.array([0.5, 2]), 10), (np.array([1]), 0)]
)
def test_chi2_rejects_counts_that_are_not_successes_out_of_trials(counts, trials):
    with pytest.raises(ValueError):
        binomial_chi2(counts, trials)


def test_alignment_picks_the_epoch_closest_to_each_target():
    epochs = [0, 0.5, 1, 2, 3]
    mean_p = [0.05, 0.2, 0.45, 0.7, 0.9]
    aligned = align_epochs(epochs, mean_p, [0.25, 0.5, 0.75, 0.97])
    assert [a.epoch for a in aligned] == [0.5, 1, 2, 3]
    assert [a.index for a in aligned] == [1, 2, 3, 4]
    assert [a.mean_p for a in aligned] == [0.2, 0.45, 0.7, 0.9]
    # 0.97 is beyond every measured epoch: still the closest, flagged as not reached
    assert [a.reached for a in aligned] == [True, True, True, False]


def test_alignment_prefers_the_earliest_epoch_on_ties():
    aligned = align_epochs([0, 1, 2, 3], [0.0, 0.25, 0.75, 0.25], [0.5])[0]
    assert aligned.epoch == 1


def test_alignment_rejects_bad_input():
    with pytest.raises(ValueError, match="equally long"):
        align_epochs([0, 1], [0.1], [0.5])
    with pytest.raises(ValueError, match="target"):
        align_epochs([0, 1], [0.1, 0.2], [1.5])
