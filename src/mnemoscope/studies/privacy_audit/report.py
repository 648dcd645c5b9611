"""What the report shows of the privacy audit: the figure of the empirical lower bound against
the accountant's epsilon, its caption, and a section that says in words what the audit found
(the report escapes every string it is given)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mnemoscope.studies.record import Caption, Section

TABLE = "privacy_audit"
FIGURE = "privacy_audit"
CAPTIONS = {
    FIGURE: Caption(
        "Empirical lower bound on epsilon (one-sided Clopper-Pearson, from LiRA on the canaries) "
        "against the accountant's epsilon per method; the dashed diagonal is the accountant's: "
        "a bound above it means the training is not as private as reported; inf = no DP-SGD",
        "the audits of Jagielski et al., NeurIPS 2020 and Nasr et al., IEEE S&P 2021"),
}  # fmt: skip
SHOWN = ["pool", "epsilon_accountant", "delta", "epsilon_lower", "epsilon_point", "confidence",
         "tpr_at_0.1%", "tpr_at_1%", "auc", "canaries", "models", "noise_applied"]  # fmt: skip


def audit_figure(table: pd.DataFrame) -> Figure:
    """Per method, the bound (marker) against the accountant's epsilon (log axis); the pool
    without DP-SGD at the right end, marked inf; the diagonal y = x."""
    finite = table.loc[np.isfinite(table["epsilon_accountant"]), "epsilon_accountant"]
    low, high = (finite.min(), finite.max()) if len(finite) else (1.0, 1.0)
    right = high * 4
    figure = Figure(figsize=(5.6, 4.2), layout="constrained")
    axis = figure.subplots()
    line = np.geomspace(low / 2, high * 1.5, 50)
    axis.plot(line, line, "--", color="grey", label="accountant's epsilon (the bound's ceiling)")
    for method, part in table.groupby("method", sort=False):
        x = part["epsilon_accountant"].where(np.isfinite(part["epsilon_accountant"]), right)
        axis.plot(x, part["epsilon_lower"], "o-", label=f"{method}: empirical lower bound")
    ticks = [*sorted(set(finite.round(3))), right] if len(finite) else [right]
    labels = [f"{t:g}" for t in ticks[:-1]] + ["inf"]
    axis.set_xscale("log")
    axis.set_xticks(ticks, labels)
    axis.minorticks_off()
    axis.set(xlabel="accountant's epsilon (DP-SGD; inf = no DP-SGD)",
             ylabel="empirical epsilon lower bound", ylim=(0, None))  # fmt: skip
    axis.legend(fontsize="small")
    return figure


def sections(path: Path, summary: Any) -> list[Section]:
    """The audit's table and figure under a note of what it found."""
    from mnemoscope.studies.privacy_audit.summary import AuditSummary

    if not isinstance(summary, AuditSummary):
        return []
    table_path = path / "tables" / f"{TABLE}.parquet"
    tables = []
    if table_path.exists():
        table = pd.read_parquet(table_path)
        tables.append(("The empirical epsilon beside the accountant's",
                       table[[c for c in SHOWN if c in table.columns]]))  # fmt: skip
    figures = [FIGURE] if (path / "figures" / f"{FIGURE}.png").exists() else []
    return [Section("What the audit found", "audit", note(summary), figures=figures,
                    tables=tables, replaces=[*figures, TABLE])]  # fmt: skip


def note(summary: Any) -> str:
    """The audit's findings in words, from the summary alone."""
    parts = [f"{summary.models} models per pool, each trained on the ordinary images and half "
             f"of {summary.canaries} canaries; LiRA ({summary.variant}) scores every canary "
             "against every model, and the Clopper-Pearson bounds of its TPR and FPR at the "
             "best threshold (picked on half of the canaries, evaluated on the other half) give "
             "the empirical epsilon: log((TPR_low - delta) / FPR_high)."]  # fmt: skip
    for row in summary.rows:
        if row.epsilon_accountant is None:
            parts.append(f"{row.pool}, no DP-SGD: epsilon >= {row.epsilon_lower:.3g}.")
        else:
            state = "ABOVE it: the training is not as private as reported" if row.exceeds \
                else "within it"  # fmt: skip
            parts.append(f"{row.pool}: epsilon >= {row.epsilon_lower:.3g} beside the "
                         f"accountant's {row.epsilon_accountant:.3g}, {state}.")  # fmt: skip
    parts.append("An empirical bound far below the accountant's epsilon is the usual outcome "
                 "(the accountant covers the worst case); it is a lower bound, not an "
                 "estimate of the true epsilon.")  # fmt: skip
    return " ".join(parts)
