"""ROC curves and the TPR at a target FPR (largest TPR with FPR <= target)."""

import numpy as np
import pytest

from mnemoscope.analysis.roc import batch_rates, roc, tpr_at_fpr


def test_tpr_at_fpr_by_hand():
    # negatives 0, 1, 2, 3; positives 2.5, 4. Thresholds: 4 -> (0, 1/2); 3 -> (1/4, 1/2);
    # 2.5 -> (1/4, 1); AUROC: 2.5 beats 3 negatives, 4 beats 4: 7 / 8
    curve = roc([0.0, 1.0, 2.0, 3.0, 2.5, 4.0], [False] * 4 + [True] * 2)
    assert curve.auc == pytest.approx(7 / 8)
    assert (curve.positives, curve.negatives) == (2, 4)
    assert curve.tpr_at(0.25) == 1.0  # a point exactly at the target counts ...
    assert curve.tpr_at(0.25, inclusive=False) == 0.5  # ... unless strict (LiRA's code)
    assert curve.tpr_at(0.2) == 0.5
    assert curve.tpr_at(0.0) == 0.5
    assert curve.tpr_at(1.0) == 1.0


def test_collinear_points_are_kept():
    # 3 positives on top, then two tie blocks of (1 negative, 2 positives) with equal slope,
    # then 98 negatives: at FPR 1% the TPR is (3 + 2) / 7, the middle of a straight line
    # that sklearn's default drop_intermediate would remove
    scores = np.r_[[9.0] * 3, [5.0] * 3, [4.0] * 3, np.linspace(-1, 0, 98)]
    positive = np.r_[[True] * 3, [True, True, False], [True, True, False], [False] * 98]
    assert roc(scores, positive).tpr_at(0.01) == pytest.approx(5 / 7)


def test_nothing_qualifies_and_bad_input():
    assert tpr_at_fpr([0.5, 1.0], [0.5, 1.0], 0.1) == 0.0
    with pytest.raises(ValueError, match="target FPR"):
        tpr_at_fpr([0.0], [0.0], 1.5)
    with pytest.raises(ValueError, match="both positive and negative"):
        roc([1.0, 2.0], [True, True])


@pytest.mark.parametrize("target", [0.0, 0.01, 0.05, 0.25, 1.0])
def test_batch_rates_are_the_sklearn_curve_s_numbers(target):
    generator = np.random.default_rng(2)
    # rounded scores: many ties inside and across the classes
    positives = np.round(generator.normal(1.0, 1.0, (30, 40)), 1)
    negatives = np.round(generator.normal(0.0, 1.0, (30, 200)), 1)
    areas, tprs = batch_rates(positives, negatives, target)
    for row in range(30):
        curve = roc(np.r_[positives[row], negatives[row]], np.r_[[True] * 40, [False] * 200])
        assert areas[row] == pytest.approx(curve.auc)
        assert tprs[row] == pytest.approx(curve.tpr_at(target))
