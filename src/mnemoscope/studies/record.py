"""The ``Study`` record: everything the rest of mnemoscope knows about a study, in one place.

A study folder (``studies/<folder>/``) exports one ``STUDY = Study(...)``, as a training method
is one ``objectives.Method`` record: its config class, the function that runs its science, the
runs it trains (``plan``), its typed summary and the paper claims read from it, and what the
report shows of it (figure captions, the key figure, the per-image tables that are linked rather
than inlined, extra sections such as a gallery, and the figures drawn over the study seeds of a
repeated run). ``studies.REGISTRY`` lists the records;
``reports``, ``plan``, the CLI and the demo loop over it and name no study.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError

from mnemoscope.analysis.claims import Claim, Finding, Measurement, NotMeasured, combine
from mnemoscope.studies.papers import Paper

if TYPE_CHECKING:
    from mnemoscope import data
    from mnemoscope.store import RunDir
    from mnemoscope.studies.config import StudyConfig
    from mnemoscope.studies.frame import Frame
    from mnemoscope.training import RunSpec


class StudySummary(BaseModel):
    """``summary.json`` of a study: the numbers its claims read, typed, and one-line
    ``headlines``. A study's run returns its subclass; a field renamed in the study but not in
    its claims fails validation where the summary is written."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    headlines: list[str] = []


class SummaryRow(BaseModel):
    """A table row inside a summary: the columns claims read are typed fields, the table's
    other columns are kept as they are."""

    model_config = ConfigDict(extra="allow", frozen=True)


class Caption(NamedTuple):
    """What a figure shows and which paper figure or table it reproduces (None: this project's
    own view)."""

    shows: str
    reproduces: str | None = None

    def text(self) -> str:
        return f"{self.shows}." + (f" Reproduces {self.reproduces}." if self.reproduces else "")


@dataclass(frozen=True)
class GalleryImage:
    image: Any  # uint8 [C, H, W]
    label: str
    rank: int
    score: str
    marked: bool = False  # e.g. a planted image


@dataclass(frozen=True)
class Section:
    """A part of a study's report section beyond its figures and tables (a gallery of images,
    a group of figures and tables with a note of their own). ``figures`` names the study's own
    figures (stems), ``tables`` holds (title, table) pairs; ``replaces`` names the figures and
    tables (stems) the section stands in for, which the report then leaves out of its plain
    lists. A ``lead`` section is a picture a reader should see without a click (a gallery): the
    report shows it under the study's key figure rather than folded with the detail (in a
    repeated study, at the top of each study seed's block)."""

    title: str
    anchor: str
    note: str
    galleries: list[tuple[str, list[GalleryImage]]] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    replaces: list[str] = field(default_factory=list)
    mark: str = "planted"  # the tag shown under a marked gallery image
    lead: bool = False  # shown under the key figure, not folded into the detail


def no_sections(path: Path, summary: Any) -> list[Section]:
    return []


def no_combined_figures(seed_dirs: Mapping[int, Path], out: RunDir) -> list[Path]:
    return []


@dataclass(frozen=True)
class Study:
    """One study: its name (the config's ``study:`` key) and every part of it (module
    docstring). ``run(config, frame)`` does the science inside ``studies.run``'s frame and
    returns the typed summary; ``specs(config, bundle)`` lists what it trains.

    ``combined_figures(seed_dirs, out)`` draws, after every study seed of a repeated run has
    finished (``repeat.run_repeated``), the figures that show the study seeds together (one
    marker per seed, a band over seeds) from the seeds' stored tables and summaries
    (``seed_dirs``: each study seed's directory, by seed) into ``out``'s ``figures/``, and
    returns their paths; their captions are in ``captions`` like every figure's.
    ``repeated_key_figure`` is the one of them the report leads a repeated study's section with;
    ``None`` (a study with no combined figures): each study seed's own ``key_figure``.

    ``rescore(path, config)`` (``mnemoscope rescore``) recomputes a finished study's tables,
    figures and summary from what it stored, with its stored config or ``config`` (which may
    change only its statistics); ``None``: the study stores nothing to rescore from."""

    name: str
    paper: Paper | None
    config: type[StudyConfig]
    run: Callable[[Any, Frame], StudySummary]
    specs: Callable[[Any, data.DatasetBundle], list[RunSpec]]
    summary: type[StudySummary]
    claims: tuple[Claim, ...]
    captions: Mapping[str, Caption]  # figure stem -> caption, in the order the report shows them
    key_figure: str
    per_image_tables: frozenset[str]  # linked from the report as files, never inlined
    quick_config: str  # the packaged smoke-test config, e.g. "sslmem-quick"
    demo_config: str | None = None  # the main job's config (`mnemoscope demo`); None: not in it
    quick_demo: bool = False  # `mnemoscope demo --quick` runs ``quick_config`` too
    sections: Callable[[Path, Any], list[Section]] = no_sections
    combined_figures: Callable[[Mapping[int, Path], RunDir], list[Path]] = no_combined_figures
    repeated_key_figure: str | None = None  # a combined figure's stem
    rescore: Callable[[Path, Any], StudySummary] | None = None

    def caption(self, stem: str) -> str:
        """One line: what the figure shows, then which paper figure it reproduces."""
        entry = self.captions.get(stem)
        return entry.text() if entry else stem.replace("_", " ").capitalize() + "."

    def read_summary(self, raw: Mapping[str, Any]) -> StudySummary | NotMeasured:
        """``raw`` (a ``summary.json`` of one run) as this study's typed summary, or why not: a
        summary written by another version of mnemoscope is the user's to refresh, not a bug."""
        try:
            return self.summary.model_validate(raw)
        except ValidationError as error:
            problem = error.errors()[0]
            where = ".".join(str(part) for part in problem["loc"]) or "summary.json"
            return NotMeasured(
                f"summary.json does not fit this version's {self.name} summary ({where}: "
                f"{problem['msg']}): run the study again with the same --out to measure it "
                "(finished trainings are reused)"
            )

    def findings(self, raw: Mapping[str, Any]) -> list[Finding]:
        """Every claim of the study measured on a ``summary.json`` (combined over study seeds
        when it is a repeated study's: ``repeat.seed_summaries``)."""
        from mnemoscope.studies.repeat import seed_summaries

        per_seed, confidence = seed_summaries(raw)
        if per_seed is None:
            summary = self.typed_summary(raw)
            return [Finding(claim, measure(claim, summary)) for claim in self.claims]
        typed = {k: self.typed_summary(seed) for k, seed in per_seed.items()}
        return [Finding(claim, combine({k: measure(claim, s) for k, s in typed.items()},
                                       confidence))
                for claim in self.claims]  # fmt: skip

    def seed_findings(self, raw: Mapping[str, Any]) -> dict[str, list[Finding]]:
        """Every claim measured at each study seed of a repeated study's ``summary.json``, by
        study seed (as ``findings`` combines them); empty for a study run once."""
        from mnemoscope.studies.repeat import seed_summaries

        per_seed, _ = seed_summaries(raw)
        typed = {k: self.typed_summary(seed) for k, seed in (per_seed or {}).items()}
        return {k: [Finding(claim, measure(claim, summary)) for claim in self.claims]
                for k, summary in typed.items()}  # fmt: skip

    def typed_summary(self, raw: Mapping[str, Any]) -> StudySummary | NotMeasured:
        return self.read_summary(raw) if raw else NotMeasured("no summary.json yet")


def measure(claim: Claim, summary: StudySummary | NotMeasured) -> Measurement:
    return summary if isinstance(summary, NotMeasured) else claim.measure(summary)
