"""``analysis.claims``: a measurement's verdict, and one claim combined over study seeds."""

import pytest

from mnemoscope.analysis.claims import (
    Measured,
    NotMeasured,
    combine,
    one_sided,
    signed,
    verdict_from_p,
)


def test_a_measured_value_needs_a_known_verdict():
    with pytest.raises(ValueError, match="not one of"):
        Measured("x", "maybe")


def test_verdict_helpers():
    assert [signed(e, 0.1) for e in (0.2, -0.2, 0.05)] == ["reproduced", "opposite", "undecided"]
    assert [verdict_from_p(p) for p in (0.01, 0.99, 0.5)] == ["reproduced", "opposite", "undecided"]
    assert one_sided(2.0, 0.1) == pytest.approx(0.05)
    assert one_sided(-2.0, 0.1) == pytest.approx(0.95)


# --- combining seeds ----------------------------------------------------------------------------


def test_a_headline_holds_only_when_every_seed_gives_it():
    agree = {
        "0": Measured("a", "reproduced", effect=0.2),
        "1": Measured("b", "reproduced", effect=0.3),
    }
    combined = combine(agree)
    assert combined.verdict == "reproduced" and combined.effect == pytest.approx(0.25)
    assert "min +0.2" in combined.value and "max +0.3" in combined.value
    assert "t-test of the seeds' effects" in combined.value and combined.interval
    disagree = {**agree, "2": Measured("c", "opposite", effect=-0.1)}
    assert combine(disagree).verdict == "undecided"
    assert "2: opposite" in combine(disagree).value
    missing = {**agree, "2": NotMeasured("toy.enabled is off")}
    assert combine(missing).verdict == "undecided" and "2: not measured" in combine(
        missing).value  # fmt: skip
    nothing = combine(
        {"0": NotMeasured("toy.enabled is off"), "1": NotMeasured("toy.enabled is off")}
    )
    assert nothing == NotMeasured("toy.enabled is off")  # one reason, said once


def test_seeds_that_agree_in_direction_decide_by_the_combined_test():
    def seeds(*pairs):
        return {str(k): Measured("x", v, effect=e) for k, (v, e) in enumerate(pairs)}

    weak = seeds(("reproduced", 0.05), ("reproduced", 0.06), ("undecided", 0.03))
    assert combine(weak).verdict == "reproduced" and combine(weak).p_value < 0.05
    assert combine(seeds(("opposite", -0.05), ("undecided", -0.04), ("opposite", -0.06))
                     ).verdict == "opposite"  # fmt: skip
    crossing = seeds(("reproduced", 0.05), ("undecided", -0.01), ("reproduced", 0.06))
    assert combine(crossing).verdict == "undecided"  # one seed points the other way
    noisy = seeds(("reproduced", 0.2), ("undecided", 0.001), ("undecided", 0.002))
    assert combine(noisy).p_value > 0.05 and combine(noisy).verdict == "undecided"
    unreached = seeds(("reproduced", 0.05), ("not at this scale", 0.06), ("reproduced", 0.07))
    assert combine(unreached).verdict == "undecided"


def test_seeds_p_values_combine_by_stouffer():
    from scipy.stats import combine_pvalues

    seeds = {"0": Measured("a", "reproduced", effect=0.3, p_value=0.01),
             "1": Measured("b", "undecided", effect=0.1, p_value=0.2)}  # fmt: skip
    combined = combine(seeds)
    expected = combine_pvalues([0.01, 0.2], method="stouffer").pvalue
    assert combined.p_value == pytest.approx(expected) and "Stouffer" in combined.value
    # a seed in the other direction cancels: Stouffer, unlike Fisher, is not driven by one seed
    opposed = {"0": seeds["0"], "1": Measured("c", "opposite", effect=-0.3, p_value=0.99)}
    assert combine(opposed).p_value > 0.4
    assert combine_pvalues([0.01, 0.99], method="fisher").pvalue < 0.1
