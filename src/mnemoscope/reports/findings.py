"""The findings table of a run directory: one row per claim of every study it holds, with what
the run measured, the minimum detectable effect of its test beside the paper's effect (where the
claim gives them) and its verdict (the report's first table; ``scripts/demo_results.py`` writes
the same rows into README and config headers)."""

from __future__ import annotations

from dataclasses import dataclass

from mnemoscope.analysis.claims import Claim, Measured, Measurement
from mnemoscope.reports.collect import StudyOutputs

SMOKE_TEST = "not assessed (smoke test)"


@dataclass(frozen=True)
class FindingRow:
    study: StudyOutputs
    claim: Claim
    measured: Measurement
    verdict: str  # the measured verdict, SMOKE_TEST for a quick run, "" when not measured

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
    """Every claim of every (known) study of ``studies``, in order; a quick run's verdicts are
    not assessed: its networks are far too small for the papers' effects."""
    rows = []
    for study in studies:
        if study.record is None:
            continue
        for finding in study.record.findings(study.summary):
            measured = finding.measured
            verdict = "" if not isinstance(measured, Measured) else (
                SMOKE_TEST if quick else measured.verdict)  # fmt: skip
            rows.append(FindingRow(study, finding.claim, measured, verdict))
    return rows
