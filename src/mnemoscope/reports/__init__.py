"""Reports: a single self-contained HTML file from a run directory."""

from mnemoscope.reports.collect import StudyOutputs, collect
from mnemoscope.reports.html import build_report, render_report

__all__ = ["StudyOutputs", "build_report", "collect", "render_report"]
