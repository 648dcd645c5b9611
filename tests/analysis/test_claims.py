"""``analysis.claims``: a measurement's verdict, and one claim combined over study seeds."""

import numpy as np
import pytest

from mnemoscope.analysis.claims import (
    Measured,
    NotMeasured,
    combine,
    one_sided,
    settle,
    signed,
    verdict_from_p,
)
from mnemoscope.analysis.power import mde_mean, mde_stouffer


def test_a_measured_value_needs_a_known_verdict():
    with pytest.raises(ValueError, match="not one of"):
        Measured("x", "maybe")


def test_a_test_that_did_not_decide_is_undecided_only_when_it_could_have_seen_the_paper():
    assert settle("undecided", 0.05, 0.1) == "undecided"  # could have seen it: did not
    assert settle("undecided", 0.2, 0.1) == "underpowered"
    assert settle("underpowered", 0.05, 0.1) == "undecided"
    assert settle("undecided", None, 0.1) == "undecided"  # power unknown: stays
    assert settle("undecided", 0.2, None) == "undecided"
    assert settle("reproduced", 0.2, 0.1) == "reproduced"  # a decision is not about power
    assert settle("opposite", 0.2, 0.1) == "opposite"
    measured = Measured("x", "underpowered", effect=0.01, mde=0.2, paper_effect=0.1)
    assert "minimum detectable effect 0.2" in measured.power and "paper's effect 0.1" in (
        measured.power)  # fmt: skip
    assert Measured("x", "undecided").power is None


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


def test_combined_seeds_are_underpowered_by_the_combined_tests_mde():
    # Stouffer: every seed gives p and MDE; the combined MDE is mde_stouffer's
    def seeds(mde, paper=0.1):
        return {str(k): Measured("x", settle("undecided", mde, paper), effect=e, p_value=p,
                                 mde=mde, paper_effect=paper)
                for k, (e, p) in enumerate([(0.01, 0.4), (-0.01, 0.6), (0.02, 0.3)])}  # fmt: skip

    weak = seeds(0.3)
    assert {m.verdict for m in weak.values()} == {"underpowered"}
    combined = combine(weak)
    assert combined.mde == pytest.approx(mde_stouffer([0.3] * 3))  # 0.17 > 0.1
    assert combined.verdict == "underpowered" and combined.paper_effect == 0.1
    # each seed underpowered (0.15 > 0.1), together not (0.15 / sqrt 3 = 0.087): undecided
    pooled = combine(seeds(0.15))
    assert {m.verdict for m in seeds(0.15).values()} == {"underpowered"}
    assert pooled.mde == pytest.approx(0.15 / 3**0.5) and pooled.verdict == "undecided"
    # seeds that decide together are not judged on power
    strong = {str(k): Measured("x", "underpowered", effect=0.05, p_value=0.06, mde=0.3,
                               paper_effect=0.1) for k in range(3)}  # fmt: skip
    assert combine(strong).verdict == "reproduced"


def test_combined_margin_claims_get_the_t_tests_mde_of_the_seeds_effects():
    effects = [0.01, -0.02, 0.015]
    seeds = {str(k): Measured("x", "undecided", effect=e, paper_effect=0.5)
             for k, e in enumerate(effects)}  # fmt: skip
    combined = combine(seeds)
    assert combined.mde == pytest.approx(mde_mean(float(np.std(effects, ddof=1)), 3))
    assert combined.verdict == "undecided"  # 0.05 < 0.5: could have seen the paper's effect
    noisy = {str(k): Measured("x", "undecided", effect=e, paper_effect=0.01)
             for k, e in enumerate(effects)}  # fmt: skip
    assert combine(noisy).verdict == "underpowered"
    unreached = {**seeds, "2": Measured("x", "not at this scale", effect=0.015, paper_effect=0.01)}
    assert combine(unreached).verdict == "undecided"  # a seed outside the regime: no power call
