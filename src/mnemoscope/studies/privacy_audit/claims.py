"""The audit's claims (Jagielski et al., NeurIPS 2020; Nasr et al., IEEE S&P 2021), read from
its summary: DP-SGD's guarantee holds against the strongest membership test at hand, and the
test has the power to see memorization where there is no DP-SGD."""

from __future__ import annotations

from mnemoscope.analysis.claims import Claim, Measured, NotMeasured
from mnemoscope.studies.papers import DP_AUDIT
from mnemoscope.studies.privacy_audit.summary import AuditRow, AuditSummary

PAPER = DP_AUDIT.number  # Jagielski et al. 2020; Nasr et al. 2021


def _private(summary: AuditSummary) -> list[AuditRow]:
    return [row for row in summary.rows if row.epsilon_accountant is not None]


def guarantee_holds(summary: AuditSummary) -> Measured | NotMeasured:
    """Every DP-SGD pool's empirical lower bound on epsilon (one-sided at the summary's
    confidence) at most the accountant's epsilon: reproduced; any bound above it: opposite
    (the training is not (epsilon, delta)-DP as reported, unless the bound is the 1 -
    confidence chance of a false alarm). The bound is itself the margin: no other is added.
    Effect: the smallest accountant's epsilon minus bound over the pools (positive = holds)."""
    rows = _private(summary)
    if not rows:
        return NotMeasured("epsilons holds no finite epsilon: no DP-SGD pool to audit")
    margins = [row.epsilon_accountant - row.epsilon_lower for row in rows]
    worst = rows[margins.index(min(margins))]
    value = "; ".join(f"{row.pool}: >= {row.epsilon_lower:.3g} vs {row.epsilon_accountant:.3g}"
                      for row in rows)  # fmt: skip
    interval = (f"{worst.confidence:.0%} one-sided: epsilon >= {worst.epsilon_lower:.3g} "
                f"({worst.pool})")  # fmt: skip
    verdict = "reproduced" if min(margins) >= 0 else "opposite"
    return Measured(f"empirical lower bound vs accountant's epsilon: {value}", verdict, interval,
                    min(margins))  # fmt: skip


def canaries_exposed_without_dp(summary: AuditSummary) -> Measured | NotMeasured:
    """The pools without DP-SGD: an empirical lower bound above 0 (the attack tells IN from OUT
    canaries at the bound's confidence) is reproduced, else undecided (an attack too weak to
    see memorization here says nothing about DP-SGD either). Effect: the smallest bound."""
    rows = [row for row in summary.rows if row.epsilon_accountant is None]
    if not rows:
        return NotMeasured("epsilons holds no .inf: no pool without DP-SGD")
    smallest = min(rows, key=lambda row: row.epsilon_lower)
    value = "; ".join(f"{row.pool}: >= {row.epsilon_lower:.3g}, TPR {_tpr(row):.3g} at 1% FPR"
                      for row in rows)  # fmt: skip
    verdict = "reproduced" if smallest.epsilon_lower > 0 else "undecided"
    return Measured(value, verdict, f"{smallest.confidence:.0%} one-sided",
                    smallest.epsilon_lower)  # fmt: skip


CLAIMS = (
    Claim(PAPER, "Jagielski et al. 2020 sec. 4; Nasr et al. 2021 sec. V",
          "DP-SGD keeps its promise: no membership test on canaries proves an epsilon above the "
          "accountant's", "DP guarantee holds",
          "accountant's epsilon - empirical lower bound (smallest over pools)", guarantee_holds),
    Claim(PAPER, "Nasr et al. 2021 sec. V; Carlini et al. 2022 (LiRA)",
          "Without DP-SGD the canaries are exposed: the same test proves a positive epsilon",
          "canaries exposed without DP", "empirical lower bound without DP-SGD (smallest)",
          canaries_exposed_without_dp),
)  # fmt: skip


def _tpr(row: AuditRow) -> float:
    """The attack's TPR at 1 % FPR (a table column the row keeps as it is)."""
    return float((row.model_extra or {}).get("tpr_at_1%") or 0.0)
