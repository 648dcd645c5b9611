"""Turn a stored run directory into README's results section and the measured block of a
config's header: no number typed by hand.

    python scripts/demo_results.py [RUN_DIR] [--readme README.md] [--config CONFIG.yaml ...]
                                   [--claims README.md]

RUN_DIR (default ``runs/demo``) is a directory written by ``mnemoscope demo`` (or one study's,
by ``mnemoscope run``). The section gives where the numbers come from (the date, git commit, CPU
model and its bf16 flags, GPU, threads and device recorded in the run's ``meta.json``), the run
times, every paper claim with the value, minimum detectable effect and verdict
``mnemoscope.reports.findings`` reads from each study's ``summary.json`` (as the HTML report
does), and the profiles study's distances to the nulls at mean p_t = 0.5
(``tables/profile_alignment.csv``). Without ``--readme`` it prints the section; with it, it
replaces what lies between ``BEGIN`` and ``END`` in that file.

With ``--config CONFIG.yaml`` (repeatable) it writes, into that config's comment header between
``MEASURED_BEGIN`` and ``MEASURED_END`` (inserted before the first line that is not a comment
when the file has neither), the same provenance, the wall time of the study in RUN_DIR whose
``study`` is the config's (and of each study seed of a repeated study) and one line per paper
claim with its verdict and value (and, where the claim gives them, its test's minimum detectable
effect beside the paper's effect). It refuses, leaving the file untouched, when the stored run's
config is not the file's body (both validated by ``mnemoscope.studies.load_config``): a block
only ever describes a run of exactly that config. Only comment lines change; the YAML body stays
byte-identical.

With ``--claims README.md`` beside ``--config``, it also writes the config's claims into that
file, between the two lines ``claims_markers`` names after the config's file (README's
downstream claims at their deciding configs): per claim its verdict, value and minimum
detectable effect beside the paper's effect, then the run's provenance and wall time. Both
files are checked before either is written.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from mnemoscope import studies as study_configs
from mnemoscope.config_file import parse_config
from mnemoscope.config_file import read_config as read_yaml
from mnemoscope.reports.collect import StudyOutputs, collect, is_quick, read_json
from mnemoscope.reports.findings import finding_rows
from mnemoscope.reports.timings import wall_seconds
from mnemoscope.store import atomic_write_text, check_outputs
from mnemoscope.studies.repeat import seed_dir

BEGIN = "<!-- demo-results:begin (written by scripts/demo_results.py: do not edit) -->"
END = "<!-- demo-results:end -->"
MEASURED_BEGIN = (
    "# measured:begin (written by scripts/demo_results.py from a stored run: do not edit)"
)
MEASURED_END = "# measured:end"
WIDTH = 100  # columns of a config header line
ALIGNMENT_COLUMNS = ["paradigm", "variant", "null", "mae", "mae_sd", "chi2_p", "reached"]


def section(run_dir: str | Path) -> str:
    """The results section (markdown, without the markers) of the run directory ``run_dir``."""
    run_dir = Path(run_dir)
    studies = collect(run_dir)
    top = read_json(run_dir / "meta.json")
    meta = top if top.get("environment") else studies[0].meta
    quick = is_quick(run_dir, studies)
    lines = [
        f"From `{run_dir.name}`, a stored run of `{_command(run_dir, quick)}` "
        f"started {_date(meta.get('started'))}: {_provenance(meta.get('environment') or {})}. "
        "Regenerate this section with `python scripts/demo_results.py RUN_DIR --readme "
        "README.md`.",
        "",
        "Run time: " + _run_times(studies, top) + ".",
    ]
    if quick:
        lines += ["", "A `--quick` run is a smoke test: its values are shown, not judged."]
    lines += ["", "| study | claim (paper, section) | measured | minimum detectable effect | "
              "interval | verdict |", "|---|---|---|---|---|---|"]  # fmt: skip
    for row in finding_rows(studies, quick):
        if not row.is_measured:
            continue
        measured = row.measured
        claim = f"{row.claim.text} ({row.claim.paper}, {row.claim.section})"
        value = measured.value
        if "study seeds" in value:  # combined over seeds: say what the mean is of
            value = f"{row.claim.effect}: {value}"
        cells = (row.study.name, claim, value, row.power, measured.interval or "", row.verdict)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    for study in studies:
        lines += _per_seed(study, quick)
    alignment = _alignment(studies)
    if alignment is not None:
        lines += ["", "Profiles at mean p_t = 0.5 (`tables/profile_alignment.csv`): MAE of each "
                  "paradigm's profile to the null (sd over binomial draws or permutations), "
                  "chi-square p against the network-block null; of a repeated study, each "
                  "study seed's MAE:", "",
                  "| " + " | ".join(alignment.columns) + " |",
                  "|" + "---|" * len(alignment.columns)]  # fmt: skip
        for row in alignment.itertuples(index=False):
            lines.append("| " + " | ".join(_cell(_number(v)) for v in row) + " |")
    return "\n".join(lines) + "\n"


def _command(run_dir: Path, quick: bool) -> str:
    if (run_dir / "config.yaml").is_file() and "demo" in read_yaml(run_dir / "config.yaml"):
        return "mnemoscope demo" + (" --quick" if quick else "")
    return "mnemoscope run"


def _per_seed(study: StudyOutputs, quick: bool) -> list[str]:
    """For a study repeated over study seeds: each claim's effect and verdict at every seed
    (``tables/repeat_findings.csv``), so that README shows how strongly each headline holds."""
    path = study.path / "tables" / "repeat_findings.csv"
    if not path.is_file():
        return []
    table = pd.read_csv(path, dtype={"study_seed": str}).dropna(subset=["verdict"])
    seeds = [k for k in dict.fromkeys(table["study_seed"]) if k != "combined"]
    lines = ["", f"{study.name} at each study seed (`tables/repeat_findings.csv`): the effect "
             "each verdict is about (positive = the paper's direction), its one-sided p where "
             "the study tests it, and the verdict:", "",
             "| claim | effect | " + " | ".join(f"seed {k}" for k in seeds) + " |",
             "|---|---|" + "---|" * len(seeds)]  # fmt: skip
    for (claim, effect_name), rows in table.groupby(["claim", "effect_name"], sort=False):
        by_seed = {row.study_seed: row for row in rows.itertuples()}
        cells = [claim, effect_name] + [_seed_cell(by_seed.get(k), quick) for k in seeds]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return lines


def _seed_cell(row: Any, quick: bool) -> str:
    if row is None:
        return "not measured"
    effect = "" if pd.isna(row.effect) else f"{row.effect:+.3g}"
    p = "" if pd.isna(row.p_value) else f" (p {row.p_value:.2g})"
    return f"{effect}{p}" + ("" if quick else f": {row.verdict}")


def _alignment(studies: list[StudyOutputs]) -> pd.DataFrame | None:
    """The rows of profiles' alignment table at the target 0.5 (the paper's fig. 2); of a
    repeated study, each study seed's MAE side by side."""
    study = next((s for s in studies if s.name == "profiles"), None)
    if study is None:
        return None
    seed_dirs = _seed_dirs(study)
    if not seed_dirs:
        return _alignment_of(study.path)
    tables = {k: _alignment_of(d) for k, d in seed_dirs.items()}
    tables = {k: t for k, t in tables.items() if t is not None}
    if not tables:
        return None
    keys = ["paradigm", "variant", "null"]
    merged = None
    for k, table in tables.items():
        table = table[keys + ["mae", "reached"]].rename(
            columns={"mae": f"mae seed {k}", "reached": f"reached {k}"})  # fmt: skip
        merged = table if merged is None else merged.merge(table, on=keys, how="outer")
    reached = [c for c in merged if c.startswith("reached ")]
    merged["reached"] = merged[reached].all(axis=1)
    return merged.drop(columns=reached)


def _alignment_of(path: Path) -> pd.DataFrame | None:
    table_path = path / "tables" / "profile_alignment.csv"
    if not table_path.is_file():
        return None
    table = pd.read_csv(table_path)
    if "null" not in table:
        table["null"] = "binomial"
    table = table[table["target_p"].round(6) == 0.5]
    return table[[c for c in ALIGNMENT_COLUMNS if c in table]] if len(table) else None


def _provenance(environment: dict[str, Any]) -> str:
    git = environment.get("git") or {}
    commit = str(git.get("commit") or "unknown")[:7] + (" (uncommitted changes)" if git.get(
        "dirty") else "")  # fmt: skip
    cpu = environment.get("cpu") or {}
    flags = [f for f in ("avx512_bf16", "amx_bf16") if f in (cpu.get("flags") or [])]
    parts = [f"commit {commit}", f"CPU {cpu.get('model') or 'unknown'}"
             + (f" ({', '.join(flags)})" if flags else " (no native bf16)")]  # fmt: skip
    if environment.get("gpu"):
        parts.append(f"GPU {environment['gpu']}")
    parts.append(f"device {environment.get('device', '?')}, "
                 f"{environment.get('torch_threads', '?')} torch threads")  # fmt: skip
    load = environment.get("load_average")
    if load:
        parts.append(f"load average {load[0]:g} at the start (1 min)")
    return ", ".join(parts)


def _run_times(studies: list[StudyOutputs], top: dict[str, Any]) -> str:
    parts = []
    for label, meta in [("whole run", top)] + [(s.name, s.meta) for s in studies]:
        duration = _duration(meta)
        if duration is not None:
            parts.append(f"{label} {duration}")
    return ", ".join(parts) or "not recorded"


def _duration(meta: dict[str, Any]) -> str | None:
    """``meta.json``'s started to finished as "M min S s", or ``None`` when not recorded."""
    seconds = wall_seconds(meta)
    return None if seconds is None else f"{int(seconds // 60)} min {int(seconds % 60)} s"


def _date(stamp: Any) -> str:
    try:
        return datetime.fromisoformat(stamp).strftime("%Y-%m-%d %H:%M UTC")
    except (TypeError, ValueError):
        return "at an unrecorded time"


def _number(value: Any) -> Any:
    if isinstance(value, float):
        return "" if value != value else f"{value:.4f}"  # NaN: not defined for this row
    return value


def _cell(value: Any) -> str:
    """A markdown table cell: pipes escaped, no line breaks."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def replace_section(text: str, body: str, begin: str = BEGIN, end: str = END) -> str:
    """``text`` with what lies between the lines ``begin`` and ``end`` replaced by ``body``;
    ``ValueError`` naming them when the text does not hold each once, in that order."""
    if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
        raise ValueError(f"the file must hold the line {begin!r} once, followed by {end!r} once")
    head, rest = text.split(begin)
    _, tail = rest.split(end)
    return f"{head}{begin}\n{body}{end}{tail}"


# --- the measured block of a config's header -----------------------------------------------


def checked_study(run_dir: str | Path, config: str | Path) -> StudyOutputs:
    """The study in ``run_dir`` whose ``study`` is ``config``'s; ``ValueError`` when the stored
    run's config is not the file's (so nothing generated from it ever describes another
    config's run) or when the run holds a file its manifest does not list."""
    run_dir, config = Path(run_dir), Path(config)
    raw = read_yaml(config)
    if "study" not in raw:
        raise ValueError(f"{config} is not a study config (no 'study' key): no measured block")
    wanted = study_configs.load_config(raw).model_dump(mode="json")
    found = collect(run_dir)
    study = next((s for s in found if s.name == raw["study"]), None)
    if study is None:
        raise ValueError(f"{run_dir} holds no {raw['study']!r} study (it holds "
                         f"{', '.join(s.name for s in found)}), the study of {config}")  # fmt: skip
    stored_path = study.path / "config.yaml"
    try:
        stored = study_configs.load_config(study.config).model_dump(mode="json")
    except ValueError as error:
        raise ValueError(f"{stored_path} is not a valid {raw['study']} config of this version "
                         f"({error}), so it cannot be the run of {config}") from None  # fmt: skip
    differences = _differences(stored, wanted)
    if differences:
        raise ValueError(
            f"{stored_path} differs from {config} at {', '.join(differences[:8])}"
            + (f" and {len(differences) - 8} more" if len(differences) > 8 else "")
            + ": what is written from it only describes a run of exactly this config"
        )
    # Only the run's own outputs: a file its manifest does not list (or one changed since) is
    # refused, naming it (store.check_outputs).
    for path in (study.path, *_seed_dirs(study).values()):
        check_outputs(path, "demo_results.py")
    return study


def measured_block(run_dir: str | Path, config: str | Path) -> str:
    """The lines (markers included) of ``config``'s measured block, from the study in
    ``run_dir`` whose ``study`` is the config's (``checked_study``)."""
    run_dir = Path(run_dir)
    study = checked_study(run_dir, config)
    top = read_json(run_dir / "meta.json")
    environment = study.meta.get("environment") or top.get("environment") or {}
    quick = is_quick(run_dir, [study])
    where = run_dir.name if study.path == run_dir else f"{run_dir.name}/{study.path.name}"
    paragraphs = [
        f"From `{where}`, a stored run of `{_command(run_dir, quick)}` started "
        f"{_date(study.meta.get('started'))}: {_provenance(environment)}.",
        "Wall time (meta.json's started to finished): "
        + ", ".join(_seed_times(study)) + ".",
        "Paper claims (verdict: value)"
        + (", a smoke test: its values are shown, not judged" if quick else "") + ":",
    ]
    lines = [MEASURED_BEGIN]
    for paragraph in paragraphs:
        lines += textwrap.wrap(paragraph, WIDTH, initial_indent="# ", subsequent_indent="#   ")
    for row in finding_rows([study], quick):
        claim, measured = row.claim, row.measured
        if not row.is_measured:
            result = f"not measured ({measured.reason})"
        else:
            result = f"{row.verdict}: {measured.value}" + (
                f"; {measured.interval}" if measured.interval else "") + (
                f"; {row.power}" if row.power else "")  # fmt: skip
        line = f"- {claim.text} ({claim.paper}, {claim.section}): {result}"
        lines += textwrap.wrap(line, WIDTH, initial_indent="# ", subsequent_indent="#   ")
    return "\n".join(lines + [MEASURED_END]) + "\n"


def _seed_times(study: StudyOutputs) -> list[str]:
    """The study's wall time, then each study seed's (``study-seed-<k>/meta.json``)."""
    times = [_duration(study.meta) or "not recorded"]
    for k, path in _seed_dirs(study).items():
        duration = _duration(read_json(path / "meta.json")) or "not recorded"
        times.append(f"study seed {k} {duration}")
    return times


def _seed_dirs(study: StudyOutputs) -> dict[int, Path]:
    """A repeated study's directory of each study seed, in the order its summary lists them
    (empty for a study run once)."""
    repeat = study.summary.get("repeat")
    seeds = repeat.get("study_seeds") if isinstance(repeat, dict) else None
    return {int(k): seed_dir(study.path, int(k)) for k in seeds or []}


# How often a run writes its resumable checkpoint changes no result (it is not in a run's key).
IGNORED_KEYS = ("checkpoint_every",)


def _differences(a: Any, b: Any, prefix: str = "") -> list[str]:
    """The dotted keys at which two config dumps differ (``IGNORED_KEYS`` aside)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for key in dict.fromkeys([*a, *b]) if key not in IGNORED_KEYS
                for d in _differences(a.get(key), b.get(key), f"{prefix}{key}.")]  # fmt: skip
    return [] if a == b else [prefix.rstrip(".") or "the whole config"]


def replace_block(text: str, block: str, name: str = "the config") -> str:
    """``text`` (a YAML file) with its measured block replaced by ``block``; with no block, it
    goes just before the first line that is not a comment. Every other line stays as it was."""
    lines = text.splitlines(keepends=True)
    begins = [i for i, line in enumerate(lines) if line.startswith(MEASURED_BEGIN.split(" (")[0])]
    ends = [i for i, line in enumerate(lines) if line.rstrip("\r\n") == MEASURED_END]
    if not begins and not ends:
        at = next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))
        if at == len(lines) and lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        new = lines[:at] + [block] + lines[at:]
    elif len(begins) == 1 and len(ends) == 1 and begins[0] < ends[0]:
        new = lines[: begins[0]] + [block] + lines[ends[0] + 1 :]
    else:
        raise ValueError(
            f"{name} must hold the line {MEASURED_BEGIN!r} once, followed by {MEASURED_END!r} "
            f"once (found {len(begins)} and {len(ends)})"
        )
    result = "".join(new)
    if parse_config(result, name) != parse_config(text, name):  # only comments may change
        raise ValueError(f"writing the measured block would change what {name} holds")
    return result


def write_block(run_dir: str | Path, config: str | Path) -> None:
    """Write ``config``'s measured block from ``run_dir``, atomically; refuse, leaving the file
    untouched, when anything does not fit."""
    config = Path(config)
    text = config.read_bytes().decode("utf-8")  # bytes: no newline translation
    atomic_write_text(config, replace_block(text, measured_block(run_dir, config), str(config)))


# --- README's lines of a config's claims ----------------------------------------------------


def claims_markers(config: str | Path) -> tuple[str, str]:
    """The two lines of a README between which ``config``'s claims go (named by its file)."""
    name = Path(config).name
    return (f"<!-- claims of {name}: begin (written by scripts/demo_results.py: do not edit) -->",
            f"<!-- claims of {name}: end -->")  # fmt: skip


def claims_lines(run_dir: str | Path, config: str | Path) -> str:
    """README's markdown for ``config``'s claims, from its stored run in ``run_dir``
    (``checked_study``): one item per claim with its verdict, value and, where the claim gives
    them, the minimum detectable effect beside the paper's; then where the numbers come from."""
    run_dir = Path(run_dir)
    study = checked_study(run_dir, config)
    quick = is_quick(run_dir, [study])
    lines = []
    for row in finding_rows([study], quick):
        if not row.is_measured:
            continue
        measured = row.measured
        text = f"- {row.claim.text} ({row.claim.paper}, {row.claim.section}): **{row.verdict}**; "
        text += f"{row.claim.effect}: {measured.value}"
        text += f"; {measured.interval}" if measured.interval else ""
        text += f"; {measured.power}" if measured.power else ""
        lines.append(text)
    environment = study.meta.get("environment") or read_json(run_dir / "meta.json").get(
        "environment") or {}  # fmt: skip
    lines.append(f"  (`configs/{Path(config).name}`: a stored run started "
                 f"{_date(study.meta.get('started'))}, {_provenance(environment)}; wall time "
                 f"{', '.join(_seed_times(study))}.)")  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", nargs="?", default="runs/demo", type=Path)
    parser.add_argument("--readme", type=Path, help="replace the section in this file")
    parser.add_argument(
        "--config", type=Path, action="append", default=[],
        help="write the measured block of this config's header (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--claims", type=Path, metavar="README",
        help="with --config: write each config's claims into this file, between its markers",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.claims is not None and not args.config:
        parser.error("--claims needs --config: the claims are a config's")
    try:
        if args.readme is None and not args.config:
            sys.stdout.write(section(args.run_dir))
            return 0
        if args.readme is not None:
            body = section(args.run_dir)
            atomic_write_text(args.readme, replace_section(args.readme.read_text(), body))
            print(f"wrote the results of {args.run_dir} into {args.readme}")
        for config in args.config:
            # Both texts first: a refusal of either leaves both files untouched.
            claims = None if args.claims is None else replace_section(
                args.claims.read_text(), claims_lines(args.run_dir, config),
                *claims_markers(config))  # fmt: skip
            write_block(args.run_dir, config)
            print(f"wrote the measured block of {args.run_dir} into {config}")
            if claims is not None:
                atomic_write_text(args.claims, claims)
                print(f"wrote the claims of {config} into {args.claims}")
    except (FileNotFoundError, ValueError) as error:
        print(f"demo_results: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
