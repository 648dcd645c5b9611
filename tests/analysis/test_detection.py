"""Detection of planted positives by memorization scores: AUROC, TPR at 1% FPR, intervals."""

import numpy as np
import pytest

from mnemoscope.analysis.detection import COLUMNS, planted_detection


def test_detection_by_hand_leaves_other_kinds_out():
    # ordinary 0, 1, 2, 3; "rare" 2.5, 4 (AUROC 7/8; at FPR 1/4 all found); "far" scores 100,
    # above everything, must not change the "rare" row
    score = np.array([0.0, 1.0, 2.0, 3.0, 2.5, 4.0, 100.0])
    kind = ["ordinary"] * 4 + ["rare"] * 2 + ["far"]
    table = planted_detection({"m": score}, kind, fpr=0.25, n_resamples=50)
    assert list(table.columns) == COLUMNS
    rare = table.set_index("kind").loc["rare"]
    assert (rare["planted"], rare["ordinary"]) == (2, 4)
    assert rare["auroc"] == pytest.approx(7 / 8) and rare["tpr"] == 1.0
    far = table.set_index("kind").loc["far"]
    assert far["auroc"] == 1.0 and far["auroc_low"] == far["auroc_high"] == 1.0


def test_intervals_cover_the_truth_and_separate_a_real_from_a_null_kind():
    generator = np.random.default_rng(0)
    n = 600
    kind = np.array(["ordinary"] * n + ["atypical"] * 150 + ["placebo"] * 150)
    score = generator.standard_normal(kind.size)
    score[kind == "atypical"] += 3.0  # true AUROC Phi(3 / sqrt 2) = 0.983
    noisy = score.copy()
    noisy[:50] = np.nan  # unscored images drop out of the counts
    table = planted_detection({"m": score, "noisy": noisy}, kind, n_resamples=300, seed=1)
    rows = table.set_index(["score", "kind"])
    real, null = rows.loc[("m", "atypical")], rows.loc[("m", "placebo")]
    assert real["auroc_low"] < 0.983 < real["auroc_high"]
    assert real["auroc_low"] <= real["auroc"] <= real["auroc_high"]
    assert real["tpr_low"] <= real["tpr"] <= real["tpr_high"] and real["tpr_low"] > 0.3
    assert null["auroc_low"] < 0.5 < null["auroc_high"] and null["tpr_high"] < 0.15
    assert rows.loc[("noisy", "atypical")]["ordinary"] == n - 50
    again = planted_detection({"m": score, "noisy": noisy}, kind, n_resamples=300, seed=1)
    assert again.equals(table)  # seeded


def test_detection_refuses_mismatched_input():
    with pytest.raises(ValueError, match="shape"):
        planted_detection({"m": np.zeros(3)}, ["ordinary", "x"])
