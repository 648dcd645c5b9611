"""LiRA (Carlini et al. 2022) on a model pool, against hand computations with scipy's normal."""

import numpy as np
import pytest
from scipy.stats import norm

from mnemoscope.analysis import membership
from tests.analysis.pools import balanced_inside

# 6 models, 2 images; image 0 is IN for models 0, 1, 2, image 1 for models 1, 3, 4
VALUES = np.array([[2.0, 1.0], [2.5, -1.0], [3.5, 0.0], [0.0, 2.0], [1.0, 3.0], [0.5, 1.5]])
INSIDE = np.array(
    [[True, False], [True, True], [True, False], [False, True], [False, True], [False, False]]
)


def online(x, fit_in, fit_out):
    return norm.logpdf(x, np.mean(fit_in), np.std(fit_in, ddof=1)) - norm.logpdf(
        x, np.mean(fit_out), np.std(fit_out, ddof=1)
    )


def test_online_scores_by_hand_with_the_target_held_out():
    result = membership.lira(VALUES, INSIDE)
    # target 0 (fit on models 1-5): image 0 IN {1, 2} OUT {3, 4, 5}; image 1 IN {1, 3, 4}
    # OUT {2, 5}
    assert result.scores[0, 0] == pytest.approx(online(2.0, [2.5, 3.5], [0.0, 1.0, 0.5]))
    assert result.scores[0, 1] == pytest.approx(online(1.0, [-1.0, 2.0, 3.0], [0.0, 1.5]))
    # target 3 (fit on 0, 1, 2, 4, 5): image 0 IN {0, 1, 2} OUT {4, 5}; image 1 IN {1, 4}
    # OUT {0, 2, 5}
    assert result.scores[3, 0] == pytest.approx(online(0.0, [2.0, 2.5, 3.5], [1.0, 0.5]))
    assert result.scores[3, 1] == pytest.approx(online(2.0, [-1.0, 3.0], [1.0, 0.0, 1.5]))
    assert np.array_equal(result.member, INSIDE)
    assert result.roc.positives == 6 and result.roc.negatives == 6
    # the online ratio has no direction: member_high changes nothing
    flipped = membership.lira(VALUES, INSIDE, member_high=False)
    assert np.array_equal(flipped.scores, result.scores)


def test_fixed_variance_pools_the_within_image_variances():
    result = membership.lira(VALUES, INSIDE, fixed_variance=True)
    # target 0: IN sums of squares 0.5 (image 0, 1 df) + 78/9 (image 1, 2 df) over 3 df;
    # OUT 0.5 (2 df) + 1.125 (1 df) over 3 df
    var_in, var_out = (0.5 + 78 / 9) / 3, (0.5 + 1.125) / 3
    expected = norm.logpdf(1.0, 4 / 3, np.sqrt(var_in)) - norm.logpdf(1.0, 0.75, np.sqrt(var_out))
    assert result.scores[0, 1] == pytest.approx(expected)


def test_offline_is_the_one_sided_tail_of_the_out_gaussian():
    high = membership.lira(VALUES, INSIDE, variant="offline", member_high=True)
    low = membership.lira(VALUES, INSIDE, variant="offline", member_high=False)
    out = [0.0, 1.0, 0.5]  # target 0, image 0: OUT models 3, 4, 5
    mean, sd = np.mean(out), np.std(out, ddof=1)
    assert high.scores[0, 0] == pytest.approx(np.log(norm.cdf(2.0, mean, sd)))
    assert low.scores[0, 0] == pytest.approx(np.log(norm.sf(2.0, mean, sd)))


def test_too_few_models_to_fit_give_nan_and_are_left_out_of_the_roc():
    inside = INSIDE.copy()
    inside[:, 0] = [True, False, False, False, False, False]  # image 0: one IN model
    result = membership.lira(VALUES, inside)
    assert np.isnan(result.scores[:, 0]).all()  # without the target: 0 or 1 IN models
    assert result.roc.positives + result.roc.negatives == 6


def simulated(shift: float, seed: int, models: int = 16, images: int = 400):
    generator = np.random.default_rng(seed)
    inside = balanced_inside(models, images, generator)
    difficulty = generator.normal(0.0, 2.0, images)  # per-image level: LiRA's reason to be
    values = difficulty + shift * inside + 0.5 * generator.standard_normal((models, images))
    return values, inside


@pytest.mark.parametrize("variant", ["online", "offline"])
@pytest.mark.parametrize("fixed_variance", [False, True])
def test_lira_finds_members_and_nothing_in_a_null_pool(variant, fixed_variance):
    options = {"variant": variant, "fixed_variance": fixed_variance}
    values, inside = simulated(1.0, seed=1)
    found = membership.lira(values, inside, **options)
    assert found.roc.auc > 0.8
    assert set(found.tpr_at) == {0.001, 0.01} and found.tpr_at[0.01] > 0.05
    # a loss-like statistic (member = low) scores the same once member_high says so
    flipped = membership.lira(-values, inside, member_high=False, **options)
    assert flipped.roc.auc == pytest.approx(found.roc.auc)
    null = membership.lira(*simulated(0.0, seed=2), **options)
    assert null.roc.auc == pytest.approx(0.5, abs=0.04)


def test_logit_scale():
    eps = np.finfo(np.float64).eps
    assert membership.logit_scale([0.5, 0.9]) == pytest.approx([0.0, np.log(9.0)])
    ends = membership.logit_scale([0.0, 1.0])
    assert ends == pytest.approx([-np.log((1 - eps) / eps), np.log((1 - eps) / eps)])
    assert np.all(np.isfinite(ends))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        membership.logit_scale([1.2])
    with pytest.raises(ValueError, match="variant"):
        membership.lira_score(
            np.zeros(2), membership.fit_gaussians(VALUES, INSIDE), variant="global"
        )


def test_holding_out_the_targets_partner_removes_the_small_pool_bias():
    # no membership signal at all; 6 models in complementary pairs (every image IN for 3)
    generator = np.random.default_rng(12)
    images = 4000
    halves = [generator.random(images) < 0.5 for _ in range(3)]
    inside = np.stack([side for half in halves for side in (half, ~half)])
    values = generator.standard_normal(inside.shape)
    alone = membership.lira(values, inside, fixed_variance=True)
    paired = membership.lira(values, inside, fixed_variance=True, groups=[0, 0, 1, 1, 2, 2])
    # the target's own side is one model short: IN targets look OUT (E[Lambda] = -1/12)
    assert alone.roc.auc < 0.47
    assert paired.roc.auc == pytest.approx(0.5, abs=0.015)
    with pytest.raises(ValueError, match="one group per model"):
        membership.held_out_scores(values, inside, groups=[0, 1])
