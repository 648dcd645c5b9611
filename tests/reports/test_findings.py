"""Each claim's verdict from constructed summaries: every verdict reachable, missing keys safe."""

import pytest

from mnemoscope import studies
from mnemoscope.reports import findings as f
from tests.reports.conftest import alignment_rows


def verdict(measure, summary):
    measured = measure(summary)
    return None if measured is None else measured.verdict


def test_every_claim_reads_an_empty_or_odd_summary_as_not_measured():
    for claim in f.CLAIMS:
        assert claim.measure({}) is None, claim.text
    odd = {"alignment": "nope", "verdicts": [1, 2], "toy": [], "planted_auroc": {"noise": "x"},
           "table4": "nope"}  # fmt: skip
    for study in studies.names():
        assert all(finding.measured is None for finding in f.findings(study, odd))
    assert {"profiles", "sslmem", "benign"} <= {c.study for c in f.CLAIMS} <= set(studies.names())


def test_profiles_claims():
    far = {"alignment": alignment_rows(supervised_mae=0.2, simclr_mae=0.1)}
    assert verdict(f.supervised_far_from_binomial, far) == "reproduced"
    assert verdict(f.fixed_augmentations_move_simclr, far) == "reproduced"  # fixed +0.1
    assert verdict(f.simclr_like_random_labels, far) == "reproduced"
    flipped = {"alignment": alignment_rows(supervised_mae=0.1, simclr_mae=0.2)}
    assert verdict(f.supervised_far_from_binomial, flipped) == "opposite"
    close = {"alignment": alignment_rows(supervised_mae=0.105, simclr_mae=0.1)}
    assert verdict(f.supervised_far_from_binomial, close) == "undecided"
    short = {"alignment": alignment_rows(0.2, 0.1, reached=False)}
    assert verdict(f.supervised_far_from_binomial, short) == "not at this scale"
    measured = f.supervised_far_from_binomial(far)
    assert "supervised 0.200" in measured.value and measured.interval.startswith("± 0.010, ± 0.010")


def test_profiles_claims_read_the_binomial_rows_beside_the_network_block_null():
    binomial = alignment_rows(supervised_mae=0.2, simclr_mae=0.1)
    block = [row | {"null": "network_block", "mae": 0.1} for row in binomial]
    rows = [row | {"null": "binomial"} for row in binomial] + block
    assert verdict(f.supervised_far_from_binomial, {"alignment": rows}) == "reproduced"


def sslmem_summary(p: float) -> dict:
    return {"center": "shared", "ttest_candidates_vs_shared": {
        "shared": {"statistic": 2.0, "p_value": p, "effect_size": 0.3}}}


def test_sslmem_claims():
    assert verdict(f.candidates_memorized, sslmem_summary(0.01)) == "reproduced"
    assert verdict(f.candidates_memorized, sslmem_summary(0.3)) == "undecided"
    assert verdict(f.candidates_memorized, sslmem_summary(0.99)) == "opposite"
    with_ci = sslmem_summary(0.01) | {"mean_score_ci": {"shared": {"S_C": [0.1, 0.3]}}}
    assert f.candidates_memorized(with_ci).interval == "S_C 95% CI [+0.100, +0.300]"
    assert verdict(f.planted_found, {"planted_auroc": {"noise": 0.9, "inverted": 0.8}}) == (
        "reproduced")
    assert verdict(f.planted_found, {"planted_auroc": {"noise": 0.9, "inverted": 0.2}}) == (
        "undecided")
    assert verdict(f.planted_found, {"planted_auroc": {"noise": 0.1}}) == "opposite"
    assert verdict(f.feldman_agrees, {"feldman_tau": {"tau": 0.3, "p_value": 1e-4}}) == (
        "reproduced")
    assert verdict(f.feldman_agrees, {"feldman_tau": {"tau": 0.05, "p_value": 0.4}}) == "undecided"
    # one-sided in the paper's direction, like table 2's t-test: two-sided 0.06 is 0.03
    assert verdict(f.feldman_agrees, {"feldman_tau": {"tau": 0.08, "p_value": 0.06}}) == (
        "reproduced")
    assert verdict(f.feldman_agrees, {"feldman_tau": {"tau": -0.08, "p_value": 0.06}}) == (
        "opposite")
    methods = [{"score_norm_mean": s, "probe_accuracy": a}
               for s, a in [(0.1, 0.5), (0.2, 0.6), (0.3, 0.7), (0.4, 0.8), (0.5, 0.9)]]
    assert verdict(f.memorization_goes_with_accuracy, {"methods": methods}) == "reproduced"
    reverse = [{"score_norm_mean": -m["score_norm_mean"], "probe_accuracy": m["probe_accuracy"]}
               for m in methods]  # fmt: skip
    assert verdict(f.memorization_goes_with_accuracy, {"methods": reverse}) == "opposite"
    assert f.memorization_goes_with_accuracy({"methods": methods[:2]}) is None


def benign_summary(verdict_with_da: str, verdict_without: str) -> dict:
    row = {"train_acc_random": 0.99, "probe_acc": 0.8, "init_probe_acc": 0.75}
    return {
        "verdicts": [row | {"setting": "random+da", "verdict": verdict_with_da},
                     row | {"setting": "random", "verdict": verdict_without}],
        "clean_knn_final": {"random": {"embedding": 0.70, "output": 0.40}},
        "invariance_embedding_final": {"random+da": 0.2, "random": 0.6},
        "toy": {"test_knn_most": 0.8, "test_knn_fewest": 0.6, "most_augmentations": 16,
                "fewest_augmentations": 1},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("with_da", "without", "expected"),
    [("benign", "malign", ("reproduced", "reproduced")),
     ("no memorization", "malign", ("not at this scale", "reproduced")),
     ("malign", "benign", ("opposite", "opposite")),
     ("undecided at this scale", "undecided at this scale", ("undecided", "undecided"))],
)  # fmt: skip
def test_benign_verdict_claims(with_da, without, expected):
    summary = benign_summary(with_da, without)
    assert (verdict(f.benign_with_augmentation, summary),
            verdict(f.malign_without_augmentation, summary)) == expected  # fmt: skip


def test_benign_layer_invariance_and_toy_claims():
    summary = benign_summary("benign", "malign")
    assert verdict(f.last_layers_memorize, summary) == "reproduced"
    assert verdict(f.augmentation_makes_invariant, summary) == "reproduced"
    assert verdict(f.more_augmentations_help, summary) == "reproduced"
    summary["clean_knn_final"]["random"]["output"] = 0.69
    summary["toy"]["test_knn_most"] = 0.4
    assert verdict(f.last_layers_memorize, summary) == "undecided"
    assert verdict(f.more_augmentations_help, summary) == "opposite"


def test_a_measured_value_needs_a_known_verdict():
    with pytest.raises(ValueError, match="not one of"):
        f.Measured("x", "maybe")


def removal_summary(experiment: str, difference: float, p: float) -> dict:
    pooled = {"k": "all", "downstream": "all", "pairs": 8, "mean_top": 0.7 + difference,
              "mean_random": 0.7, "difference": difference, "p_value": p}  # fmt: skip
    per_k = pooled | {"k": "50", "p_value": 0.5}
    return {experiment: [per_k, pooled]}


@pytest.mark.parametrize(
    ("measure", "experiment", "paper_sign"),
    [(f.removal_hurts, "removal", -1), (f.coreset_of_memorized, "coreset", 1)],
)
def test_removal_and_coreset_claims_read_the_pooled_paired_test(measure, experiment, paper_sign):
    paper = measure(removal_summary(experiment, paper_sign * 0.02, 0.01))
    assert paper.verdict == "reproduced" and paper.effect == pytest.approx(0.02)
    assert paper.p_value == pytest.approx(0.005)  # one-sided in the paper's direction
    other = measure(removal_summary(experiment, -paper_sign * 0.02, 0.01))
    assert other.verdict == "opposite" and other.p_value == pytest.approx(0.995)
    assert measure(removal_summary(experiment, paper_sign * 0.02, 0.2)).verdict == "undecided"
    assert measure(removal_summary(experiment, 0.01, float("nan"))).verdict == "undecided"
    assert measure({experiment: [{"k": "50", "downstream": "all", "difference": 0.1}]}) is None


def test_dejavu_claim_combines_over_methods_by_its_weakest_gap():
    rows = [{"method": "simclr", "dejavu": 0.05, "dejavu_p": 0.01},
            {"method": "mae", "dejavu": 0.02, "dejavu_p": 0.04}]  # fmt: skip
    measured = f.dejavu_memorized({"table4": rows})
    assert measured.effect == pytest.approx(0.02) and measured.p_value == pytest.approx(0.04)
    rows[1]["dejavu_p"] = None
    assert f.dejavu_memorized({"table4": rows}).p_value is None
