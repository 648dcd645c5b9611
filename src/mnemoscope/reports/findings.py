"""The findings table of a run directory: one row per claim of every study it holds, with what
the run measured, the minimum detectable effect of its test beside the paper's effect (where the
claim gives them) and its verdict (the report's first table; ``scripts/demo_results.py`` writes
the same rows into README and config headers; ``mnemoscope demo`` prints one ``claim_line``
each)."""

from __future__ import annotations

from dataclasses import dataclass, field

from mnemoscope.analysis.claims import Claim, Measured, Measurement
from mnemoscope.reports.collect import StudyOutputs
from mnemoscope.reports.numbers import number, with_interval

SMOKE_TEST = "not assessed (smoke test)"
VERDICT_WIDTH = len("not at this scale")


@dataclass(frozen=True)
class FindingRow:
    study: StudyOutputs
    claim: Claim
    measured: Measurement
    verdict: str  # the measured verdict, SMOKE_TEST for a quick run, "" when not measured
    per_seed: dict[str, Measurement] = field(default_factory=dict)  # of a repeated study

    @property
    def is_measured(self) -> bool:
        return isinstance(self.measured, Measured)

    @property
    def power(self) -> str:
        """The claim's minimum detectable effect beside the paper's effect, in the units of its
        effect (``Measured.power``); "" where the claim gives none."""
        if not isinstance(self.measured, Measured) or self.measured.power is None:
            return ""
        return f"{self.claim.effect}: {self.measured.power}"

    @property
    def paper_title(self) -> str:
        paper = self.study.record.paper if self.study.record else None
        return paper.short if paper else ""


def finding_rows(studies: list[StudyOutputs], quick: bool) -> list[FindingRow]:
    """Every claim of every (known) study of ``studies``, in order (combined over study seeds,
    with each seed's measurement, for a repeated study); a quick run's verdicts are not
    assessed: its networks are far too small for the papers' effects."""
    rows = []
    for study in studies:
        if study.record is None:
            continue
        seeds = study.record.seed_findings(study.summary)
        for index, finding in enumerate(study.record.findings(study.summary)):
            measured = finding.measured
            verdict = "" if not isinstance(measured, Measured) else (
                SMOKE_TEST if quick else measured.verdict)  # fmt: skip
            per_seed = {k: found[index].measured for k, found in seeds.items()}
            rows.append(FindingRow(study, finding.claim, measured, verdict, per_seed))
    return rows


def effect_text(measured: Measured, places: int | None = None) -> str:
    """The effect of a measurement with its interval over study seeds where it has one, to the
    precision that interval supports (``numbers.with_interval``); else to ``places`` decimals,
    or three significant digits; "" for a claim without a numeric effect."""
    if measured.effect is None:
        return ""
    if measured.low is not None and measured.high is not None:
        return with_interval(measured.effect, measured.low, measured.high)
    return number(measured.effect, places)


def claim_line(row: FindingRow) -> str:
    """One line for a terminal: the verdict (``smoke test`` for a quick run), the claim's short
    name, its effect with the effect's interval, and what the effect is, in that order (a
    narrow terminal wraps the least needed last): "reproduced  name: +0.12 [+0.05, +0.20]
    (effect)"."""
    if not isinstance(row.measured, Measured):
        return f"{'not measured':<{VERDICT_WIDTH}}  {row.claim.name}"
    verdict = "smoke test" if row.verdict == SMOKE_TEST else row.verdict
    effect = effect_text(row.measured)
    what = f"{effect} ({row.claim.effect})" if effect else row.measured.value
    return f"{verdict:<{VERDICT_WIDTH}}  {row.claim.name}: {what}"
