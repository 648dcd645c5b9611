"""Each study's claims read from constructed typed summaries: every verdict reachable, a
disabled section not measured with its reason, a summary of another shape refused by name."""

import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.power import TTestPower

from mnemoscope import studies
from mnemoscope.analysis.claims import Measured, NotMeasured
from mnemoscope.analysis.power import mde_kendall
from mnemoscope.studies.dejavu.claims import PAPER_GAP
from mnemoscope.studies.privacy.claims import paper_sslmem_drop
from mnemoscope.studies.removal import tables
from mnemoscope.studies.removal.claims import CORESET_EFFECT, REMOVAL_EFFECT
from mnemoscope.studies.sslmem.claims import FELDMAN_TAU
from tests.conftest import (
    alignment_rows,
    benign_summary,
    dejavu_summary,
    privacy_summary,
    profiles_summary,
    removal_summary,
    sslmem_summary,
)


def verdict(study: str, index: int, summary: dict) -> str | None:
    record = studies.get(study)
    measured = record.claims[index].measure(record.read_summary(summary))
    return measured.verdict if isinstance(measured, Measured) else None


def reason(study: str, index: int, summary: dict) -> str:
    record = studies.get(study)
    measured = record.claims[index].measure(record.read_summary(summary))
    assert isinstance(measured, NotMeasured), measured
    return measured.reason


def test_a_summary_of_another_shape_is_not_measured_and_names_the_field():
    for record in studies.REGISTRY:
        for finding in record.findings({"alignment": "nope", "headlines": []}):
            assert isinstance(finding.measured, NotMeasured)
            assert "does not fit this version's" in finding.measured.reason
            assert "run the study again" in finding.measured.reason
        assert all(isinstance(f.measured, NotMeasured) and "no summary" in f.measured.reason
                   for f in record.findings({}))  # fmt: skip


def test_a_bug_in_a_claim_raises_instead_of_reading_as_not_measured():
    record = studies.get("profiles")
    with pytest.raises(AttributeError):
        record.claims[0].measure(object())  # not a summary: an error, not "not measured"


def test_profiles_claims():
    far = profiles_summary(alignment=alignment_rows(supervised_mae=0.2, simclr_mae=0.1))
    assert [verdict("profiles", i, far) for i in range(3)] == ["reproduced"] * 3
    flipped = profiles_summary(alignment=alignment_rows(supervised_mae=0.1, simclr_mae=0.2))
    assert verdict("profiles", 0, flipped) == "opposite"
    close = profiles_summary(alignment=alignment_rows(supervised_mae=0.105, simclr_mae=0.1))
    assert verdict("profiles", 0, close) == "undecided"
    short = profiles_summary(alignment=alignment_rows(0.2, 0.1, reached=False))
    assert verdict("profiles", 0, short) == "not at this scale"
    record = studies.get("profiles")
    measured = record.claims[0].measure(record.read_summary(far))
    assert "supervised 0.200" in measured.value and measured.interval.startswith("± 0.010, ± 0.010")
    only_supervised = [r for r in alignment_rows(0.2, 0.1) if r["paradigm"] == "supervised"]
    assert "no paradigm named simclr" in reason("profiles", 0,
                                               profiles_summary(alignment=only_supervised))


def test_profiles_claims_read_the_binomial_rows_beside_the_network_block_null():
    binomial = alignment_rows(supervised_mae=0.2, simclr_mae=0.1)
    block = [row | {"null": "network_block", "mae": 0.1} for row in binomial]
    assert verdict("profiles", 0, profiles_summary(alignment=binomial + block)) == "reproduced"


def test_sslmem_claims():
    def verdict_from_p(p):
        test = {"plain": {"statistic": 2.0, "p_value": p, "effect_size": 0.3}}
        return sslmem_summary(ttest_candidates_vs_shared=test)

    assert [verdict("sslmem", 0, verdict_from_p(p)) for p in (0.01, 0.3, 0.99)] == [
        "reproduced", "undecided", "opposite"]  # fmt: skip
    assert "no t-test" in reason("sslmem", 0, verdict_from_p(None))
    planted = {"noise": 0.9, "inverted": 0.8}
    assert verdict("sslmem", 1, sslmem_summary(planted_auroc=planted)) == "reproduced"
    planted = {"noise": 0.9, "inverted": 0.2}
    assert verdict("sslmem", 1, sslmem_summary(planted_auroc=planted)) == "undecided"
    assert verdict("sslmem", 1, sslmem_summary(planted_auroc={"noise": 0.1})) == "opposite"
    assert "planted.kinds is empty" in reason("sslmem", 1, sslmem_summary())
    methods = [{"variant": f"m{i}", "score_norm_mean": s, "probe_accuracy": a}
               for i, (s, a) in enumerate([(0.1, 0.5), (0.2, 0.6), (0.3, 0.7), (0.4, 0.8),
                                           (0.5, 0.9)])]  # fmt: skip
    assert verdict("sslmem", 2, sslmem_summary(methods=methods)) == "reproduced"
    reverse = [m | {"score_norm_mean": -m["score_norm_mean"]} for m in methods]
    assert verdict("sslmem", 2, sslmem_summary(methods=reverse)) == "opposite"
    assert "compare.variants" in reason("sslmem", 2, sslmem_summary(methods=methods[:2]))

    def feldman(tau, p):
        return sslmem_summary(feldman_tau={"tau": tau, "p_value": p})

    assert verdict("sslmem", 3, feldman(0.3, 1e-4)) == "reproduced"
    assert verdict("sslmem", 3, feldman(0.05, 0.4)) == "undecided"
    # one-sided in the paper's direction, like table 2's t-test: two-sided 0.06 is 0.03
    assert verdict("sslmem", 3, feldman(0.08, 0.06)) == "reproduced"
    assert verdict("sslmem", 3, feldman(-0.08, 0.06)) == "opposite"
    assert "feldman.enabled is off" in reason("sslmem", 3, sslmem_summary())


def test_feldman_is_underpowered_when_too_few_candidates_rank_for_table_12s_tau():
    def measured(n):
        summary = sslmem_summary(feldman_tau={"tau": 0.05, "p_value": 0.4, "n": n})
        record = studies.get("sslmem")
        return record.claims[3].measure(record.read_summary(summary))

    # MDE 2.49 sqrt(2 (2n + 5) / (9 n (n - 1))): 0.192 needs about 75 candidates
    few, many = measured(40), measured(400)
    assert few.mde == pytest.approx(mde_kendall(40)) and few.mde > FELDMAN_TAU
    assert few.verdict == "underpowered" and few.paper_effect == FELDMAN_TAU
    assert many.mde < FELDMAN_TAU and many.verdict == "undecided"
    assert "over 400 candidates" in many.value
    # a run before the field: power unknown, the test's verdict as it was
    old = sslmem_summary(feldman_tau={"tau": 0.05, "p_value": 0.4})
    assert verdict("sslmem", 3, old) == "undecided"


@pytest.mark.parametrize(
    ("with_da", "without", "expected"),
    [("benign", "malign", ("reproduced", "reproduced")),
     ("no memorization", "malign", ("not at this scale", "reproduced")),
     ("malign", "benign", ("opposite", "opposite")),
     ("undecided at this scale", "undecided at this scale", ("undecided", "undecided"))],
)  # fmt: skip
def test_benign_verdict_claims(with_da, without, expected):
    summary = benign_summary(with_da, without)
    assert (verdict("benign", 0, summary), verdict("benign", 1, summary)) == expected


def test_benign_layer_invariance_and_toy_claims():
    summary = benign_summary()
    assert [verdict("benign", i, summary) for i in (2, 3, 4)] == ["reproduced"] * 3
    summary["clean_knn_final"]["random"]["output"] = 0.69
    summary["toy"]["test_knn_most"] = 0.4
    assert verdict("benign", 2, summary) == "undecided"
    assert verdict("benign", 4, summary) == "opposite"
    assert "toy.enabled is off" in reason("benign", 4, benign_summary(toy=None))
    assert "'random'" in reason("benign", 1, benign_summary(verdicts=[]))


@pytest.mark.parametrize(("index", "experiment", "paper_sign"),
                         [(0, "removal", -1), (1, "coreset", 1)])  # fmt: skip
def test_removal_and_coreset_claims_read_the_pooled_paired_test(index, experiment, paper_sign):
    record = studies.get("sslmem-removal")

    def measure(difference, p):
        summary = record.read_summary(removal_summary(experiment, difference, p))
        return record.claims[index].measure(summary)

    paper = measure(paper_sign * 0.02, 0.01)
    assert paper.verdict == "reproduced" and paper.effect == pytest.approx(0.02)
    assert paper.p_value == pytest.approx(0.005)  # one-sided in the paper's direction
    other = measure(-paper_sign * 0.02, 0.01)
    assert other.verdict == "opposite" and other.p_value == pytest.approx(0.995)
    assert measure(paper_sign * 0.02, 0.2).verdict == "undecided"
    assert measure(0.01, float("nan")).verdict == "undecided"
    assert paper.paper_effect == (REMOVAL_EFFECT if experiment == "removal" else CORESET_EFFECT)
    the_other = "coreset" if experiment == "removal" else "removal"
    summary = removal_summary(the_other, 0.01, 0.5)
    assert f"{experiment}.ks is empty" in reason("sslmem-removal", index, summary)


def test_privacy_claims_compare_the_smallest_epsilon_with_no_dp():
    base = {"epsilon_target": None, "sslmem_mean": 0.3, "sslmem_ci_low": 0.25,
            "sslmem_ci_high": 0.35, "confidence": 0.95, "probe_accuracy": 0.8}  # fmt: skip
    tight = {"epsilon_target": 8.0, "sslmem_mean": 0.1, "sslmem_ci_low": 0.05,
             "sslmem_ci_high": 0.15, "confidence": 0.95, "probe_accuracy": 0.7}  # fmt: skip
    summary = privacy_summary([base, tight])
    assert verdict("sslmem-privacy", 0, summary) == "reproduced"
    assert verdict("sslmem-privacy", 1, summary) == "reproduced"
    wide = tight | {"sslmem_mean": 0.25, "sslmem_ci_low": 0.05, "sslmem_ci_high": 0.45,
                    "probe_accuracy": 0.8}  # fmt: skip
    overlapping = privacy_summary([base, wide])
    # half-widths 0.05 and 0.2: the test detects a drop of 2.486 x 0.105 = 0.26 > 0.200
    assert verdict("sslmem-privacy", 0, overlapping) == "underpowered"
    assert verdict("sslmem-privacy", 1, overlapping) == "undecided"  # a margin, not a test
    assert "epsilons is empty" in reason("sslmem-privacy", 0, privacy_summary([base]))


def test_dejavu_claim_combines_over_methods_by_its_weakest_gap():
    rows = [{"method": "simclr", "dejavu": 0.05, "dejavu_p": 0.01, "dejavu_seed_std": 0.02,
             "seeds": 3},
            {"method": "mae", "dejavu": 0.02, "dejavu_p": 0.04, "dejavu_seed_std": 0.02,
             "seeds": 3}]  # fmt: skip
    record = studies.get("sslmem-dejavu")
    measured = record.claims[0].measure(record.read_summary(dejavu_summary(rows)))
    assert measured.verdict == "reproduced"
    assert measured.effect == pytest.approx(0.02) and measured.p_value == pytest.approx(0.04)
    rows[1]["dejavu_p"] = None
    measured = record.claims[0].measure(record.read_summary(dejavu_summary(rows)))
    assert measured.p_value is None and measured.verdict == "undecided"


def _pairs(differences: list[float], experiment: str) -> pd.DataFrame:
    """An accuracy table whose top - random differences, one seed each, are ``differences``."""
    column = tables.VERDICTS[experiment][0]
    rows = []
    for seed, difference in enumerate(differences):
        rows.append({"k": 5, column: "top", "draw": 0, "seed": seed, "downstream": "a",
                     "accuracy": 0.7 + difference})  # fmt: skip
        rows.append({"k": 5, column: "random", "draw": 0, "seed": seed, "downstream": "a",
                     "accuracy": 0.7})  # fmt: skip
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    ("index", "experiment", "paper"),
    [(0, "removal", REMOVAL_EFFECT), (1, "coreset", CORESET_EFFECT)],
)
def test_removal_is_underpowered_when_its_pairs_spread_too_much_for_the_papers_gap(
    index, experiment, paper
):
    """Pairs of known spread: differences +-s around 0 (sd s sqrt(n / (n - 1))), MDE of the
    paired t-test as statsmodels computes it; underpowered above the paper's gap."""
    record = studies.get("sslmem-removal")
    n = 6
    d = TTestPower().solve_power(nobs=n, alpha=0.05, power=0.8, alternative="larger")
    for spread, expected in [(0.5 * paper / d, "undecided"), (2 * paper / d, "underpowered")]:
        differences = [spread * (-1) ** i for i in range(n)]
        sd = float(np.std(differences, ddof=1))
        table = tables.paired_tests(_pairs(differences, experiment), experiment, alpha=0.05)
        pooled = table[table["k"] == "all"].iloc[0]
        assert pooled["mde"] == pytest.approx(d * sd, rel=1e-4)
        summary = removal_summary(experiment, float(pooled["difference"]),
                                  float(pooled["p_value"]), float(pooled["mde"]), n)  # fmt: skip
        measured = record.claims[index].measure(record.read_summary(summary))
        assert measured.verdict == expected and measured.mde == pytest.approx(d * sd, rel=1e-4)
    # below two pairs no test and no power; a run without the column: power unknown
    assert verdict("sslmem-removal", index, removal_summary(experiment, 0.0, float("nan"), None,
                                                             1)) == "underpowered"  # fmt: skip
    assert verdict("sslmem-removal", index,
                   removal_summary(experiment, 0.0, 0.5, None)) == "undecided"  # fmt: skip


def test_privacy_is_underpowered_when_the_intervals_are_too_wide_for_table_5s_drop():
    def row(epsilon, mean, half):
        return {"epsilon_target": epsilon, "sslmem_mean": mean, "sslmem_ci_low": mean - half,
                "sslmem_ci_high": mean + half, "confidence": 0.95, "probe_accuracy": 0.7}

    record = studies.get("sslmem-privacy")

    def measured(epsilon, half):
        summary = record.read_summary(privacy_summary([row(None, 0.3, half),
                                                       row(epsilon, 0.28, half)]))  # fmt: skip
        return record.claims[0].measure(summary)

    # half-widths h: the one-sided test detects (1.645 + 0.842) sqrt 2 h / 1.96 = 1.794 h
    narrow, wide = measured(8.0, 0.05), measured(8.0, 0.15)
    assert narrow.mde == pytest.approx(0.05 * (1.6449 + 0.8416) * math.sqrt(2) / 1.96, rel=1e-3)
    assert narrow.verdict == "undecided" and narrow.paper_effect == pytest.approx(0.200)
    assert wide.verdict == "underpowered"  # 0.269 > 0.200
    assert measured(20.0, 0.08).verdict == "underpowered"  # 0.144 > table 5's 0.125 at 20
    assert measured(50.0, 0.15).verdict == "undecided"  # above the paper's epsilons: no number
    assert measured(50.0, 0.15).paper_effect is None
    assert paper_sslmem_drop(1.0) == pytest.approx(0.200)
    assert paper_sslmem_drop(10.0) == pytest.approx(0.125)
    # no memorization without DP-SGD (its interval reaches 0): nothing to lower, whatever the
    # power; a drop that separates the intervals still counts
    flat = record.read_summary(privacy_summary([row(None, 0.01, 0.02), row(8.0, 0.0, 0.02)]))
    found = record.claims[0].measure(flat)
    assert found.verdict == "not at this scale" and "no memorization without DP" in found.value
    assert found.mde < found.paper_effect  # powered, yet no finding
    apart = record.read_summary(privacy_summary([row(None, 0.01, 0.02), row(8.0, -0.1, 0.02)]))
    assert record.claims[0].measure(apart).verdict == "reproduced"


def test_dejavu_is_underpowered_when_too_few_seeds_or_too_much_spread():
    record = studies.get("sslmem-dejavu")

    def measured(sd, seeds):
        rows = [{"method": m, "dejavu": 0.01, "dejavu_p": 0.3, "dejavu_seed_std": sd,
                 "seeds": seeds} for m in ("simclr", "mae")]  # fmt: skip
        return record.claims[0].measure(record.read_summary(dejavu_summary(rows)))

    # two methods: each at power sqrt(0.8), so that both detect the gap with 80% probability
    d = TTestPower().solve_power(nobs=3, alpha=0.05, power=math.sqrt(0.8), alternative="larger")
    steady = measured(0.02, 3)
    assert steady.mde == pytest.approx(d * 0.02, rel=1e-4) and steady.verdict == "undecided"
    assert steady.paper_effect == PAPER_GAP
    assert measured(0.1, 3).verdict == "underpowered"  # d * 0.1 = 0.5 > 0.2008
    assert measured(None, 1).verdict == "underpowered"  # one seed: no test
