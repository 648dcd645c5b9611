"""The main job: the studies at demo scale on the embedded dataset, then the report.

``mnemoscope demo`` runs the ``demo_config`` of every study record that has one (each repeated
over three study seeds, so that every headline comes with its spread) into ``OUT/<study>``,
writes ``OUT/report.html`` and prints one line per claim (``claim_lines``). ``--quick`` runs the
``quick_config`` of every record marked ``quick_demo``: a smoke test of every pipeline. Everything
is resumable: a second run over the same ``OUT`` reuses finished trainings.
"""

from __future__ import annotations

from pathlib import Path

from rich.progress import Progress

from mnemoscope import studies
from mnemoscope.config_file import packaged_config
from mnemoscope.environment import pick_device, run_environment
from mnemoscope.progress import add_task, progress_display
from mnemoscope.reports import build_report, collect
from mnemoscope.reports.collect import is_quick
from mnemoscope.reports.findings import claim_line, finding_rows
from mnemoscope.reports.timings import AFTER_FINISH
from mnemoscope.store import claim, now_iso
from mnemoscope.studies.record import Study


def demo_studies(quick: bool) -> list[tuple[Study, str]]:
    """The studies ``mnemoscope demo`` runs, in order, each with its packaged config."""
    if quick:
        return [(study, study.quick_config) for study in studies.REGISTRY if study.quick_demo]
    return [(study, study.demo_config) for study in studies.REGISTRY if study.demo_config]


def run_demo(
    out: str | Path,
    *,
    quick: bool = False,
    progress: Progress | None = None,
    quiet: bool = False,
) -> Path:
    """Run every demo study into ``out`` and return the path of the HTML report."""
    out = Path(out)
    scale = "quick" if quick else "demo"
    chosen = demo_studies(quick)
    configs = [study.config.model_validate(packaged_config(name)) for study, name in chosen]
    # one demo at a time in ``out`` (each study locks its own folder)
    with claim(out, kind="demo") as run:
        run.write_config({"demo": scale, "studies": [study.name for study, _ in chosen]})
        run.update_meta(started=now_iso(), finished=None,
                        environment=run_environment(pick_device()))  # fmt: skip
        with progress_display(progress, quiet) as display:
            overall = add_task(display, f"mnemoscope demo ({scale})", total=len(chosen))
            for config in configs:
                with run.timed(f"{config.study} study"):
                    studies.run(config, out / config.study, progress=display, quiet=quiet)
                if display is not None:
                    display.advance(overall)
        run.update_meta(finished=now_iso())
        # the report's own time is in meta.json's timings (a later `mnemoscope report` shows
        # it): the page cannot hold the time it took to write itself
        with run.timed(AFTER_FINISH):
            return build_report(out)


def claim_lines(out: str | Path) -> dict[str, list[str]]:
    """Each study's claims of a finished (or partial) demo directory, one line each: verdict,
    short name, effect with its interval (``reports.findings.claim_line``), by study in the
    order they ran. The claims' sentences and every seed's value are in the report."""
    studies_ = collect(out)
    lines: dict[str, list[str]] = {study.name: [] for study in studies_}
    for row in finding_rows(studies_, is_quick(out, studies_)):
        lines[row.study.name].append(claim_line(row))
    return lines
