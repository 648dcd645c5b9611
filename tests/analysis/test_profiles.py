import numpy as np
import pytest
from scipy import stats

from mnemoscope.analysis.profiles import (
    PROCEDURES,
    align_epochs,
    augmentation_recognition,
    averaged_recognition,
    binomial_chi2,
    binomial_mae,
    binomial_profile,
    fixed_recognition,
    network_block_null,
    null_profile,
    permute_within_networks,
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
    aligned = align_epochs(epochs, mean_p, [0.25, 0.5, 0.75, 0.97], rule="closest")
    assert [a.epoch for a in aligned] == [0.5, 1, 2, 3]
    assert [a.index for a in aligned] == [1, 2, 3, 4]
    assert [a.mean_p for a in aligned] == [0.2, 0.45, 0.7, 0.9]
    # 0.97 is beyond every measured epoch: still the closest, flagged as not reached
    assert [a.reached for a in aligned] == [True, True, True, False]


def test_alignment_prefers_the_earliest_epoch_on_ties():
    aligned = align_epochs([0, 1, 2, 3], [0.0, 0.25, 0.75, 0.25], [0.5], rule="closest")[0]
    assert aligned.epoch == 1


def test_paper_alignment_takes_the_first_epoch_that_reaches_each_target():
    epochs = [0, 0.5, 1, 2, 3]
    mean_p = [0.05, 0.2, 0.45, 0.7, 0.9]
    # the authors' np.nonzero(areas >= target)[0][0]: 0.25 is first reached at epoch 1 (0.45),
    # although 0.2 at epoch 0.5 is closer; 0.97 is never reached: the closest, flagged
    aligned = align_epochs(epochs, mean_p, [0.25, 0.5, 0.7, 0.97], rule="first")
    assert [a.epoch for a in aligned] == [1, 2, 2, 3]
    assert [a.reached for a in aligned] == [True, True, True, False]
    # a profile that dips: the first crossing, not a later one
    assert align_epochs([0, 1, 2, 3], [0.1, 0.6, 0.4, 0.8], [0.5])[0].epoch == 1


def test_alignment_rejects_bad_input():
    with pytest.raises(ValueError, match="equally long"):
        align_epochs([0, 1], [0.1], [0.5])
    with pytest.raises(ValueError, match="target"):
        align_epochs([0, 1], [0.1, 0.2], [1.5])
    with pytest.raises(ValueError, match="alignment rule"):
        align_epochs([0, 1], [0.1, 0.2], [0.5], rule="nearest")


def test_binomial_mae_sd_uses_the_requested_ddof():
    values = np.random.default_rng(6).random(200)
    _, sd0 = binomial_mae(values, 10, draws=10, seed=1, ddof=0)
    _, sd1 = binomial_mae(values, 10, draws=10, seed=1, ddof=1)
    assert sd1 == pytest.approx(sd0 * np.sqrt(10 / 9))


def test_block_permutation_keeps_each_networks_recognition_and_its_images_views_together():
    rng = np.random.default_rng(7)
    counts = rng.integers(0, 5, size=(6, 50))  # [N, X], each of M = 4 views
    permuted = permute_within_networks(counts, np.random.default_rng(0))
    # each network's row is a rearrangement of its own counts: its recognition rate and the
    # number of its views of one image that agree are unchanged
    np.testing.assert_array_equal(np.sort(permuted, axis=1), np.sort(counts, axis=1))
    np.testing.assert_array_equal(permuted.sum(axis=1), counts.sum(axis=1))
    assert not np.array_equal(permuted, counts)
    # networks are shuffled independently: identical rows come out different
    same = np.tile(np.arange(50), (3, 1))
    shuffled = permute_within_networks(same, np.random.default_rng(1))
    assert not np.array_equal(shuffled[0], shuffled[1])


def _agreeing_views(networks, views, images, p, rng):
    """Equally hard images whose M views agree within a network: [N, M, X] indicators."""
    recognized = rng.random((networks, 1, images)) < p
    return np.broadcast_to(recognized, (networks, views, images)).astype(np.uint8)


def test_network_block_null_accepts_equally_hard_images_with_agreeing_views():
    rng = np.random.default_rng(8)
    indicators = _agreeing_views(30, 10, 1000, 0.5, rng)
    counts = indicators.sum(axis=1)
    null = network_block_null(counts, 300, permutations=50, seed=0)
    values = counts.sum(axis=0) / 300
    # the binomial of N M trials counts agreeing views as independent: far too narrow
    nm_mae, _ = binomial_mae(values, 300, draws=10, seed=0)
    n_mae, _ = binomial_mae(values, 30, draws=10, seed=0)
    assert nm_mae > 0.04 and n_mae < 0.01 and null.mae < 0.01
    assert null.p_value > 0.01 and null.dof >= 1 and null.trials == 300


def test_network_block_null_rejects_images_that_differ_in_hardness():
    rng = np.random.default_rng(9)
    hardness = np.where(np.arange(400) < 200, 0.2, 0.8)  # shared by every network
    counts = rng.binomial(4, hardness, size=(20, 400))  # [N, X], M = 4 views, not agreeing
    null = network_block_null(counts, 80, permutations=50, seed=0)
    assert null.mae > 0.2
    assert null.p_value == pytest.approx(1 / 51)  # no permutation comes close
    # reproducible from its seed; another seed draws other permutations
    assert network_block_null(counts, 80, 50, seed=0) == null
    assert network_block_null(counts, 80, 50, seed=1).mae_sd != null.mae_sd


def test_null_profile_is_the_first_permutation_of_the_same_seed():
    counts = np.random.default_rng(10).integers(0, 3, size=(5, 40))
    first = permute_within_networks(counts, np.random.default_rng(4)).sum(axis=0)
    np.testing.assert_allclose(null_profile(counts, 10, seed=4), np.sort(first) / 10)


def test_network_block_null_rejects_bad_input():
    with pytest.raises(ValueError, match="permutations"):
        network_block_null(np.ones((3, 5), dtype=int), 3, permutations=1)
    with pytest.raises(ValueError, match="at most 3"):
        network_block_null(np.full((3, 5), 2), 3)
    with pytest.raises(ValueError, match="2 dimensions"):
        network_block_null(np.ones(5, dtype=int), 3)


def test_procedures_differ_in_the_four_documented_choices():
    paper, ours = PROCEDURES["paper"], PROCEDURES["mnemoscope"]
    assert (paper.averaged_trials, paper.alignment, paper.fixed_view, paper.simclr_indicator,
            paper.sd_ddof) == ("seeds", "first", "first", "anchor", 0)  # fmt: skip
    assert (ours.averaged_trials, ours.alignment, ours.fixed_view, ours.simclr_indicator) == (
        "seeds_x_augmentations",
        "closest",
        "extra",
        "mutual",
    )
