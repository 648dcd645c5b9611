"""The main job: the three studies at demo scale on the embedded dataset, then the report.

``mnemoscope demo`` runs ``configs/{study}-demo.yaml`` for each study of ``DEMO_STUDIES`` (each
repeated over three study seeds, so that every headline comes with its spread) into
``OUT/{study}``, writes ``OUT/report.html`` and prints the headline findings. ``--quick`` runs
``{study}-quick.yaml`` for each of ``QUICK_STUDIES``: a smoke test of every pipeline, paper
002's removal and coreset experiment included. Everything is resumable: a second run over the
same ``OUT`` reuses finished trainings.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Any

from rich.progress import Progress

from mnemoscope import studies
from mnemoscope.config_file import parse_config
from mnemoscope.environment import pick_device, run_environment
from mnemoscope.progress import add_task, progress_display
from mnemoscope.reports import build_report, collect
from mnemoscope.store import claim, now_iso

DEMO_STUDIES = ("profiles", "sslmem", "benign")
# The removal experiment's smoke test takes under a minute; at CPU scale it is `mnemoscope run
# configs/sslmem-removal.yaml` (minutes), which the demo's budget, three study seeds of each
# paper's headlines in about 20 minutes, leaves out.
QUICK_STUDIES = (*DEMO_STUDIES, "sslmem-removal")


def demo_studies(quick: bool) -> tuple[str, ...]:
    """The studies ``mnemoscope demo`` runs, in order."""
    return QUICK_STUDIES if quick else DEMO_STUDIES


def packaged_config(study: str, scale: str) -> dict[str, Any]:
    """The YAML config ``{study}-{scale}.yaml`` shipped inside the package (``configs/``)."""
    resource = importlib.resources.files("mnemoscope") / "configs" / f"{study}-{scale}.yaml"
    if not resource.is_file():
        raise FileNotFoundError(f"no packaged config {study}-{scale}.yaml in mnemoscope/configs")
    return parse_config(resource.read_bytes(), f"mnemoscope/configs/{study}-{scale}.yaml")


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
    names = demo_studies(quick)
    configs = {name: studies.load_config(packaged_config(name, scale)) for name in names}
    with claim(out) as run:  # one demo at a time in ``out`` (each study locks its own folder)
        run.write_config({"demo": scale, "studies": list(names)})
        device = pick_device()
        run.update_meta(started=now_iso(), finished=None, environment=run_environment(device))
        with progress_display(progress, quiet) as display:
            overall = add_task(display, f"mnemoscope demo ({scale})", total=len(names))
            for name, config in configs.items():
                _, run_study = studies.get(name)
                run_study(config, out / name, progress=display, quiet=quiet)
                if display is not None:
                    display.advance(overall)
        run.update_meta(finished=now_iso())
        return build_report(out)


def headlines(out: str | Path) -> dict[str, list[str]]:
    """The headline findings of each study of a finished (or partial) demo directory."""
    return {study.name: study.headlines for study in collect(out)}
