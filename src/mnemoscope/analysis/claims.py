"""A paper's headline claim, what a run measured for it, and the verdict, at one study seed or
combined over several.

Each study declares its claims next to the code that measures them (``studies/<folder>/
claims.py``): a ``Claim`` is the claim in plain words, where the paper makes it, and a function
of the study's typed summary (``studies/<folder>/summary.py``) that returns what the run
measured (``Measured``) or why it could not (``NotMeasured``: the config did not enable what
the claim needs, and says which key). A claim function never swallows an error: a bug in it
raises, so a renamed field shows in a test, not as "not measured" in a user's report.

Verdicts:

* ``reproduced``: the effect has the paper's sign and clears the stated margin;
* ``opposite``: the effect has the other sign and clears the same margin;
* ``not at this scale``: the run did not reach the regime the claim is about (a paradigm that
  never reached mean p_t = 0.5, random labels that were not fitted, no memorization without
  DP-SGD for DP-SGD to lower);
* ``undecided``: the effect is within its margin although the run could have seen the paper's
  effect (its minimum detectable effect is at most the paper's): evidence against an effect of
  the paper's size at this scale;
* ``underpowered``: the effect is within its margin and the run could not have seen the paper's
  effect (its minimum detectable effect is larger): the run says nothing either way.

A claim decided by a test reports, where the study gives the spread it needs, the minimum
detectable effect (``Measured.mde``: the true effect its test detects with 80% power at
one-sided alpha 0.05, ``analysis.power``) and the paper's own effect (``Measured.paper_effect``,
read from the paper's tables or figures by the claim's function, which says where), both in the
units of ``Measured.effect``. ``settle`` turns a test's "undecided" into "undecided" or
"underpowered" by ``analysis.power.power_verdict``; without both numbers it stays "undecided".

Margins are stated in each claim's function: two standard deviations where the study gives one,
the one-sided test's 5% level where the study tests, and two points of kNN accuracy (about two
standard errors of a kNN accuracy on 1,000-2,000 test images) for the probes.

Each ``Measured`` carries its ``effect`` (the number the verdict is about, positive in the
paper's direction; ``Claim.effect`` names it) and, where the study tests it, a one-sided
``p_value`` in the paper's direction, so that ``combine`` can pool study seeds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from mnemoscope.analysis.power import mde_mean, mde_stouffer, power_verdict
from mnemoscope.analysis.stats import combine_p_values, seed_interval, ttest

VERDICTS = ("reproduced", "not at this scale", "opposite", "undecided", "underpowered")
UNDECIDED = ("undecided", "underpowered")  # the verdicts of a test that did not decide
KNN_MARGIN = 0.02  # two points of kNN accuracy: ~2 standard errors on 1,000-2,000 test images
AUROC_MARGIN = 0.1  # AUROC beyond 0.5 +- 0.1 before planted images count as found (or avoided)
ALPHA = 0.05


@dataclass(frozen=True)
class Measured:
    """What a run measured for a claim: the value, its interval (or ``None``), a verdict;
    ``effect`` and ``p_value`` as numbers for combining study seeds (module docstring); ``low``
    and ``high``: the interval of ``effect`` as numbers where there is one (``combine``'s t
    interval over study seeds), which the report prints the effect to the precision of;
    ``mde`` and ``paper_effect`` (module docstring) in the units of ``effect``."""

    value: str
    verdict: str
    interval: str | None = None
    effect: float | None = None
    p_value: float | None = None
    low: float | None = None
    high: float | None = None
    mde: float | None = None
    paper_effect: float | None = None

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict {self.verdict!r} is not one of {VERDICTS}")

    @property
    def power(self) -> str | None:
        """The minimum detectable effect beside the paper's, in words (``None``: no MDE)."""
        if self.mde is None:
            return None
        text = f"minimum detectable effect {self.mde:.3g} (80% power, one-sided alpha 0.05)"
        if self.paper_effect is not None:
            text += f"; paper's effect {self.paper_effect:.3g}"
        return text


@dataclass(frozen=True)
class NotMeasured:
    """Why a run has no measurement of a claim, naming what it lacks (a config key, a table)."""

    reason: str


Measurement = Measured | NotMeasured


@dataclass(frozen=True)
class Claim:
    """A paper's headline claim and how a run's verdict on it is read from its summary."""

    paper: str  # "001", "002", "003"
    section: str  # where the paper makes it, e.g. "sec. 4.1, table 2"
    text: str  # the claim in plain words
    name: str  # a few words for compact tables (the text is in the findings table)
    effect: str  # what ``Measured.effect`` is, positive in the paper's direction
    measure: Callable[[Any], Measurement]  # of the study's typed summary


@dataclass(frozen=True)
class Finding:
    """A claim with what a run measured for it."""

    claim: Claim
    measured: Measurement


def combine(measured: Mapping[str, Measurement], confidence: float = 0.95) -> Measurement:
    """One claim over study seeds (``measured``: each seed's measurement).

    Verdict: the seeds' common verdict when every seed measured the claim and all agree. Seeds
    that agree only in direction decide together: when every seed is ``reproduced`` or
    ``undecided`` (too little power for one seed's margin), every effect has the paper's sign
    and the combined test below gives p < 0.05, the claim is ``reproduced`` (``opposite``
    symmetrically: every effect against the paper, combined p > 0.95). Anything else is
    ``undecided``: a headline must hold in direction at every study seed. Spread: the mean,
    minimum and maximum of the seeds' effects and their t interval at ``confidence``
    (``analysis.stats.seed_interval``). Combined test, one-sided in the paper's direction:
    Stouffer's combination of the seeds' p-values where every seed gives one
    (``analysis.stats.combine_p_values``, which says why not Fisher's); for claims decided by a
    margin rather than a test, a one-sample t-test of the seeds' effects > 0 (the seeds are the
    sample; needs two seeds).

    Power: the combined test's minimum detectable effect, ``analysis.power.mde_stouffer`` of the
    seeds' MDEs for Stouffer's test (every seed gives one), ``mde_mean`` of the seeds' effects
    for the t-test; a combined verdict that is neither ``reproduced`` nor ``opposite`` is then
    ``undecided`` or ``underpowered`` by ``settle`` against the paper's effect (the seeds'
    common one: they run one config; not where a seed did not reach the claim's regime). Seeds
    ``underpowered`` alone may still decide together.
    """
    present = {k: m for k, m in measured.items() if isinstance(m, Measured)}
    if not present:
        reasons = dict.fromkeys(m.reason for m in measured.values() if isinstance(m, NotMeasured))
        return NotMeasured("; ".join(reasons) or "no study seed")
    verdicts = {m.verdict for m in present.values()}
    complete = len(present) == len(measured)
    verdict = next(iter(verdicts)) if len(verdicts) == 1 and complete else "undecided"
    listed = ", ".join(f"{k}: {m.verdict}" for k, m in present.items())
    missing = [k for k in measured if k not in present]
    if missing:
        listed += ", " + ", ".join(f"{k}: not measured" for k in missing)
    value = f"{len(measured)} study seeds ({listed})"
    interval, mean, low, high = None, None, None, None
    effects = [m.effect for m in present.values() if m.effect is not None]
    if effects:
        spread = seed_interval(effects, confidence)
        mean, low, high = spread.mean, spread.low, spread.high
        value = (f"mean effect {spread.mean:+.3g} (min {spread.minimum:+.3g}, max "
                 f"{spread.maximum:+.3g}) over {value}")  # fmt: skip
        interval = f"{confidence:.0%} t interval over seeds [{spread.low:+.3g}, {spread.high:+.3g}]"
    p_values = [m.p_value for m in present.values() if m.p_value is not None]
    p = mde = None
    mdes = [m.mde for m in present.values() if m.mde is not None]
    if p_values and len(p_values) == len(present):
        p, test = combine_p_values(p_values), "Stouffer"
        mde = mde_stouffer(mdes) if len(mdes) == len(present) else None
    elif len(effects) >= 2 and len(set(effects)) > 1:
        p, test = ttest(effects, alternative="greater").p_value, "t-test of the seeds' effects"
        mde = mde_mean(float(np.std(effects, ddof=1)), len(effects))
    if p is not None:
        value += f"; combined p = {p:.2g} ({test})"
        if verdict in UNDECIDED and complete and len(effects) == len(present):
            verdict = _direction_verdict(verdicts, effects, p)
    papers = {m.paper_effect for m in present.values() if m.paper_effect is not None}
    paper = min(papers, key=abs) if papers else None  # one config: one paper effect
    if verdict in UNDECIDED and complete and "not at this scale" not in verdicts:
        verdict = settle(verdict, mde, paper)
    return Measured(value, verdict, interval, mean, p, low, high, mde, paper)


def _direction_verdict(verdicts: set[str], effects: list[float], p: float) -> str:
    """The combined verdict of seeds that disagree only in their margins (see ``combine``)."""
    if verdicts <= {"reproduced", *UNDECIDED} and all(e > 0 for e in effects) and p < ALPHA:
        return "reproduced"
    if verdicts <= {"opposite", *UNDECIDED} and all(e < 0 for e in effects) and p > 1 - ALPHA:
        return "opposite"
    return "underpowered" if verdicts == {"underpowered"} else "undecided"


# -- helpers of the claims' functions ----------------------------------------------------------


def signed(effect: float, margin: float) -> str:
    """``reproduced`` / ``opposite`` / ``undecided`` for an effect the paper says is positive."""
    if effect > margin:
        return "reproduced"
    if effect < -margin:
        return "opposite"
    return "undecided"


def settle(verdict: str, mde: float | None, paper_effect: float | None) -> str:
    """``verdict``, except that a test's ``undecided`` becomes ``underpowered`` when the run's
    minimum detectable effect ``mde`` exceeds the paper's effect (``power.power_verdict``);
    without both numbers the power is unknown and ``undecided`` stays."""
    if verdict not in UNDECIDED or mde is None or paper_effect is None:
        return verdict
    return power_verdict(mde, paper_effect)


def verdict_from_p(one_sided_p: float) -> str:
    """The verdict of a test one-sided in the paper's direction: reproduced at p < 0.05,
    opposite at p > 0.95 (significant the other way), undecided between."""
    if one_sided_p < ALPHA:
        return "reproduced"
    return "opposite" if one_sided_p > 1 - ALPHA else "undecided"


def one_sided(statistic: float, two_sided_p: float) -> float:
    """The one-sided p-value (H1: statistic > 0) of a two-sided test's p-value."""
    return two_sided_p / 2 if statistic > 0 else 1 - two_sided_p / 2


def finite(value: float | None) -> bool:
    """Whether a summary number exists (summaries store NaN as null)."""
    return value is not None and not math.isnan(value)
