"""The ``mnemoscope`` command line: each command composes library calls, nothing more."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from mnemoscope import errors

HELP = """Measure memorization in supervised and self-supervised training of image encoders.

An error prints one message naming the file or value and what was expected (--debug: the \
traceback). Exit codes: 0 done; 2 bad input (a config, an argument, a dataset or checkpoint \
file, an unusable --out); 1 the run failed (disk full, out of memory, a bug)."""


class _Commands(TyperGroup):
    """Every command behind one error boundary: a message and an exit code, not a traceback."""

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except (typer.exceptions.TyperException, typer.Exit, typer.Abort):
            raise  # typer's own: usage errors (exit 2), exits, Ctrl-C
        except Exception as error:
            if ctx.params.get("debug"):
                raise
            code = errors.exit_code(error)
            message = errors.describe(error)
            if code == errors.RUN_FAILED:
                message += "\n(the run failed; rerun with --debug for the traceback)"
            error_console.print(Text(message), style="red")
            raise typer.Exit(code) from None


app = typer.Typer(help=HELP, no_args_is_help=True, add_completion=False, cls=_Commands)
# soft_wrap: messages hold paths and values a user copies; never break them with newlines.
console = Console(soft_wrap=True)
error_console = Console(soft_wrap=True, stderr=True)


def _print_version(value: bool) -> None:
    if value:
        from mnemoscope import __version__

        typer.echo(f"mnemoscope {__version__}")
        raise typer.Exit()


@app.callback()
def options(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="print the version"
    ),
    threads: int | None = typer.Option(
        None, "--threads",
        help="CPU threads for torch, the same for every training run (default: each run takes "
        "the cores other jobs leave free as it starts, at most one per core).",
    ),
    debug: bool = typer.Option(
        False, "--debug", help="show the Python traceback of an error instead of its message",
    ),
) -> None:  # fmt: skip
    """Measure memorization in supervised and self-supervised training of image encoders."""
    if threads is not None:
        from mnemoscope.environment import pin_threads

        if threads < 1:
            raise typer.BadParameter(
                f"{threads} threads: give an integer >= 1", param_hint="--threads"
            )
        # Recorded in every run's meta.json (threads): results are bit for bit reproducible
        # on the same machine and thread count.
        pin_threads(threads)


@app.command()
def demo(
    out: Path = typer.Option(Path("runs/demo"), "--out", help="run directory of the demo"),
    quick: bool = typer.Option(
        False, "--quick", help="a smoke test: the quick configs, the removal experiment too"
    ),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bars"),
) -> None:
    """Run the three studies at demo scale (three study seeds each) on the embedded dataset and
    build the HTML report."""
    from mnemoscope.demo import claim_lines, run_demo
    from mnemoscope.environment import busy_warning

    _warn(busy_warning())
    report = run_demo(out, quick=quick, quiet=quiet)
    for study, lines in claim_lines(out).items():  # the claims' sentences are in the report
        console.print(f"[bold]{study}[/bold]")
        for line in lines:
            console.print(Text(f"  {line}"))
    console.print(Text(f"report: {report}"), style="bold green")


@app.command()
def report(run_dir: Path = typer.Argument(..., help="a study or demo run directory")) -> None:
    """Build the self-contained HTML report of a run directory (finished or not)."""
    from mnemoscope.reports import build_report

    path = build_report(run_dir)  # a missing or foreign directory: the error boundary, exit 2
    console.print(Text(f"report: {path}"), style="bold green")


@app.command("config-schema")
def config_schema(
    name: str = typer.Argument("all", help="'train', a study name, or 'all'"),
) -> None:
    """Print every config key with its type, default and description (Markdown)."""
    from mnemoscope import studies
    from mnemoscope.config_docs import markdown
    from mnemoscope.training import TrainConfig

    names = ["train", *studies.names()] if name == "all" else [name]
    for entry in names:
        if entry == "train":
            typer.echo(markdown(TrainConfig, "train (`mnemoscope train CONFIG.yaml`)"))
            continue
        try:
            config_class = studies.get(entry).config
        except ValueError as error:
            console.print(Text(f"{entry}: {error}"), style="red")
            raise typer.Exit(2) from None
        typer.echo(markdown(config_class, f"study: {entry} (`mnemoscope run CONFIG.yaml`)"))


@app.command()
def datasets(
    as_json: bool = typer.Option(False, "--json", help="print a JSON list instead of a table"),
) -> None:
    """List every dataset, whether it is available here, and its sizes."""
    from mnemoscope import data

    entries = data.catalog()
    if as_json:
        rows = [dataclasses.asdict(entry) | {"num_classes": entry.num_classes}
                for entry in entries]  # fmt: skip
        typer.echo(json.dumps(rows, indent=2))
        return
    table = _listing_table([entry.name for entry in entries], "available", "train", "test",
                           "image", "classes")  # fmt: skip
    for entry in entries:
        table.add_row(
            entry.name,
            "[green]yes[/green]" if entry.available else "[red]no[/red]",
            _maybe(entry.train_size),
            _maybe(entry.test_size),
            "x".join(map(str, entry.image_shape)) if entry.image_shape else "-",
            _maybe(entry.num_classes),
        )
    console.print(table)
    # Paths and notes are long: below the table, one entry each, wrapped by the terminal.
    # They come from the file system: Text() keeps rich from parsing markup in them.
    for entry in entries:
        console.print(Text.assemble((entry.name, "bold"), f": {entry.location or '-'}"))
        if entry.note:
            console.print(Text(f"    {entry.note}"))


@app.command("models")
def list_models(
    in_channels: int = typer.Option(3, help="input channels to count parameters for"),
    image_size: int = typer.Option(32, help="input size to count parameters for"),
    as_json: bool = typer.Option(False, "--json", help="print a JSON list instead of a table"),
) -> None:
    """List the architectures with their parameter counts and taps."""
    from mnemoscope import models

    entries = models.catalog(in_channels=in_channels, image_size=image_size)
    if as_json:
        typer.echo(json.dumps(entries, indent=2))
        return
    table = _listing_table([entry["name"] for entry in entries], "encoder params", "embedding",
                           "description")  # fmt: skip
    for entry in entries:
        table.add_row(entry["name"], f"{entry['encoder_params']:,}",
                      str(entry["embedding_dim"]), entry["description"])  # fmt: skip
    console.print(table)
    by_taps: dict[str, list[str]] = {}  # models sharing the same taps, listed once
    for entry in entries:
        by_taps.setdefault(", ".join(entry["taps"]), []).append(entry["name"])
    for taps, names in by_taps.items():
        console.print(Text.assemble(("taps", "bold"), f" of {', '.join(names)}: {taps}"))


@app.command()
def train(
    config_path: Path = typer.Argument(..., help="YAML file of a training config"),
    out: Path = typer.Option(Path("runs"), "--out", help="directory that holds run directories"),
    seeds: str = typer.Option("", help="comma-separated seeds overriding the config's seed"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bar"),
) -> None:
    """Train one network per seed (resumes partial runs, skips finished ones)."""
    from mnemoscope.training import TrainConfig
    from mnemoscope.training import train as train_run

    config = _load_config(config_path, TrainConfig.model_validate)
    try:
        seed_list = [int(seed) for seed in seeds.split(",") if seed.strip()] or [config.seed]
    except ValueError:
        raise typer.BadParameter(
            f"{errors.shorten(seeds)}: give integer seeds separated by commas, e.g. 0,1,2",
            param_hint="--seeds",
        ) from None
    for seed in seed_list:
        result = train_run(config.model_copy(update={"seed": seed}), out, quiet=quiet)
        console.print(f"run directory: {result.run.path}", markup=False, highlight=False)


@app.command()
def run(
    config_path: Path = typer.Argument(..., help="YAML file of a study config (key 'study')"),
    out: Path | None = typer.Option(None, "--out", help="run directory (default runs/<study>)"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bars"),
    backend: str | None = typer.Option(
        None, "--backend", help="local, processes, ray or slurm (default: the config's "
        "execution.backend, else local)",
    ),
    workers: int | None = typer.Option(None, "--workers", help="processes: worker processes"),
    threads_per_run: int | None = typer.Option(
        None, "--threads-per-run", help="torch threads of each run on a worker"
    ),
    address: str | None = typer.Option(
        None, "--address", help="ray: auto, host:port (default: start a local instance)"
    ),
    cpus_per_run: float | None = typer.Option(None, "--cpus-per-run", help="ray, slurm"),
    gpus_per_run: float | None = typer.Option(
        None, "--gpus-per-run", help="ray: fractions share a GPU; slurm: whole GPUs"
    ),
    partition: str | None = typer.Option(None, "--partition", help="slurm partition"),
    time_min: int | None = typer.Option(None, "--time-min", help="slurm: minutes per job"),
    max_parallel: int | None = typer.Option(
        None, "--max-parallel", help="slurm: array jobs running at once"
    ),
) -> None:  # fmt: skip
    """Run a study (profiles, sslmem, benign...) from its config; finished trainings are reused.

    Its runs train where ``execution:`` in the config (or the options) says: in this process,
    in worker processes, on a Ray cluster or as SLURM job arrays (README: "More than one
    machine")."""
    from mnemoscope import studies
    from mnemoscope.environment import busy_warning
    from mnemoscope.execution import StorageNotShared

    config = _load_config(config_path, studies.load_config)
    overrides = {key: value for key, value in {
        "backend": backend, "workers": workers, "threads_per_run": threads_per_run,
        "address": address, "cpus_per_run": cpus_per_run, "gpus_per_run": gpus_per_run,
        "partition": partition, "time_min": time_min, "max_parallel": max_parallel,
    }.items() if value is not None}  # fmt: skip
    if overrides:
        from mnemoscope.execution.config import ExecutionConfig

        execution = {**config.execution.model_dump(), **overrides}
        try:  # a bad option is the option's, not the config file's
            ExecutionConfig.model_validate(execution)
        except ValueError as error:
            options = ", ".join(f"--{key.replace('_', '-')}" for key in overrides)
            raise errors.BadInput(f"{options} (overriding execution in {config_path}): "
                                  f"{errors.describe(error)}") from error
        config = _load_config(config_path, lambda raw: studies.load_config(
            {**raw, "execution": execution}))  # fmt: skip
    _warn(busy_warning())
    try:
        result = studies.run(config, out or Path("runs") / config.study, quiet=quiet)
    except (ImportError, StorageNotShared) as error:  # a missing extra, unshared storage:
        raise errors.BadInput(str(error)) from error  # the user's to fix (exit 2), not a failed run
    console.print(f"run directory: {result.path}", markup=False, highlight=False)


@app.command()
def plan(
    config_path: Path = typer.Argument(..., help="YAML file of a study config (key 'study')"),
    out: Path | None = typer.Option(None, "--out", help="run directory (default runs/<study>)"),
    device: str | None = typer.Option(None, "--device", help="measure on this device"),
    measure: bool = typer.Option(True, "--measure/--no-measure", help="time a few training "
                                 "steps here (--no-measure: counts and the one-GPU estimate only)"),
) -> None:
    """What a study config will train, before anything runs: runs, which are complete,
    images x epochs, the training time estimated from a few steps measured here (every
    study seed's runs for a config with ``repeat``) and, for the paper configs' models, an
    estimate on one GPU (from assumed throughputs, not measured)."""
    import pandas as pd

    from mnemoscope import studies
    from mnemoscope.execution.plan import (
        PLAN_COLUMNS,
        dataset_or_standin,
        plan_summary,
        plan_table,
    )
    from mnemoscope.studies.repeat import seed_config, seed_dir

    config = _load_config(config_path, studies.load_config)
    specs = studies.get(config.study).specs
    dataset = config.data
    bundle, real = dataset_or_standin(dataset.name, dataset.options)
    study_dir = out or Path("runs") / config.study
    parts = [(config, study_dir)]
    if getattr(config, "repeat", None) is not None:
        parts = [(seed_config(config, k), seed_dir(study_dir, k))
                 for k in config.repeat.study_seeds]  # fmt: skip
    table = pd.concat([plan_table(specs(part, bundle), _run_roots(part_dir), bundle,
                                  real, device, measure) for part, part_dir in parts],
                      ignore_index=True)  # fmt: skip
    if not real:
        console.print(Text(f"dataset {dataset.name!r} is not here: runs built on a stand-in of "
                           "its catalogued size (counts and costs hold, completeness unknown)"),
                      style="yellow")  # fmt: skip
    rows, lines = plan_summary(table, real, measure)
    summary = Table(*PLAN_COLUMNS)
    for row in rows:
        summary.add_row(*row)
    console.print(summary)
    for line in lines:
        console.print(Text(line), style="yellow" if line.startswith("warning:") else None)


def _run_roots(study_dir: Path) -> list[Path]:
    """Where a study's runs live: its ``runs/``, and a nested study's (removal and privacy
    keep the SSLMem study's f and g in ``OUT/sslmem/runs``)."""
    return [study_dir / "runs", *sorted(study_dir.glob("*/runs"))]


@app.command("sslmem-score")
def sslmem_score(
    out: Path = typer.Option(..., "--out", help="directory for tables/sslmem_scores.*"),
    f: list[Path] = typer.Option([], "--f", help="checkpoint of an encoder f (repeat for K)"),
    g: list[Path] = typer.Option([], "--g", help="checkpoint of an encoder g (repeat for K)"),
    from_study: Path | None = typer.Option(
        None, "--from-study", help="an sslmem study directory: rescore its candidates with its "
        "own f and g (tables/sslmem_runs) and measurement options",
    ),
    dataset: str = typer.Option("fmnist-mini", help="dataset of the images to score"),
    split: str = typer.Option("train", help="train or test"),
    start: int = typer.Option(0, help="first image of the split"),
    count: int | None = typer.Option(None, help="number of images (default: to the end)"),
    ids: Path | None = typer.Option(
        None, "--ids", help="file of image ids to score instead of --start/--count (a CSV with "
        "an id column, or integers separated by spaces, commas or newlines)",
    ),
    augment: str | None = typer.Option(
        None, help="measurement augmentation preset (default: simclr)"
    ),
    pairs: int | None = typer.Option(
        None, help="augmentation pairs per image (default: 5, the paper's)"
    ),
    reference: str | None = typer.Option(
        None, help="views (paper, the default) or clean (authors' code)"
    ),
    distance: str | None = typer.Option(None, help="l2 (paper, the default) or angular"),
    tap: str | None = typer.Option(
        None, help="representation tap (default: auto = last feature map / ViT tokens, appendix A)"
    ),
    seed: int | None = typer.Option(None, help="seed of the views (default: 0)"),
    device: str = typer.Option("cpu", help="cpu, cuda, cuda:N or mps"),
) -> None:
    """SSLMem scores (paper 002, eq. 2) of dataset images for checkpointed encoders f and g,
    or of a study's own candidates (--from-study). Options left out take the study's values
    (with --from-study) or the defaults named in their help."""
    from mnemoscope.scoring import read_ids, score_dataset, score_study

    given = {"augment": augment, "pairs": pairs, "reference": reference, "distance": distance,
             "tap": tap, "seed": seed}  # fmt: skip
    options = {key: value for key, value in given.items() if value is not None}
    # a bad argument raises ValueError / FileNotFoundError: the error boundary says it, exit 2
    if from_study is not None:
        if f or g or ids is not None:
            raise ValueError("--from-study takes the study's own f, g and candidates: give "
                             "no --f, --g or --ids with it")  # fmt: skip
        table = score_study(from_study, out, device=device, **options)
    else:
        if not f or not g:
            raise ValueError("give --f and --g checkpoints (at least one each), or "
                             "--from-study STUDY_DIR")  # fmt: skip
        table = score_dataset(f, g, out, dataset=dataset, split=split, start=start,
                              count=count, ids=read_ids(ids) if ids else None,
                              device=device, **({"augment": "simclr"} | options))  # fmt: skip
    console.print(
        f"{len(table)} images, mean score {table['score_raw'].mean():+.5f} (raw), "
        f"{table['score_norm'].mean():+.4f} (normalized); table: {out / 'tables'}",
        markup=False, highlight=False,
    )  # fmt: skip


@app.command()
def rescore(
    source: Path = typer.Argument(..., help="a finished study directory"),
    config_path: Path | None = typer.Option(
        None, "--config", help="a config that differs from the stored one in the study's "
        "statistics only (default: the stored config)",
    ),
) -> None:
    """Recompute a finished study's tables, figures and summary.json from what it stored (other
    intervals, splits, test variants); no model is trained or measured again."""
    from mnemoscope import studies
    from mnemoscope.config_file import read_config

    stored = source / "config.yaml"
    if not stored.is_file():
        raise errors.BadInput(f"{source} holds no config.yaml: not a study directory")
    study = studies.get(read_config(stored).get("study"))
    if study.rescore is None:
        able = [s.name for s in studies.registry() if s.rescore is not None]
        raise errors.BadInput(f"{source} holds a {study.name!r} study, which stores nothing "
                              f"to rescore from (studies that do: {', '.join(able)})")
    config = _load_config(config_path, studies.load_config) if config_path else None
    study.rescore(source, config)
    console.print(Text(f"rescored {source}; `mnemoscope report {source}` shows it"))


@app.command()
def runs(
    study_dir: Path = typer.Argument(..., help="a study run directory"),
    as_json: bool = typer.Option(False, "--json", help="print a JSON list instead of a table"),
) -> None:
    """List the trainings of a study: role (an sslmem study's f and g), seed, objective, model,
    training images, and whether each finished."""
    from mnemoscope.studies.runs import list_runs

    rows = list_runs(study_dir)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    # Columns that would repeat one value on every row are said once, below the table.
    models, with_roles = {row["model"] for row in rows}, any(row["role"] for row in rows)
    columns = [*(["role"] if with_roles else []), "seed", "objective",
               *(["model"] if len(models) > 1 else []), "images", "done"]  # fmt: skip
    table = _listing_table([row["run"] for row in rows], *columns)
    table.columns[0].header = "run (under runs/)"
    for row in rows:
        cells = [row["role"] or "-"] if with_roles else []
        cells += [_maybe(row["seed"]), row["objective"] or "-"]
        cells += [row["model"] or "-"] if len(models) > 1 else []
        cells += [_maybe(row["train_images"]), "yes" if row["finished"] else "[red]no[/red]"]
        table.add_row(row["run"].removeprefix("runs/"), *cells)
    console.print(table)
    if len(models) == 1:
        console.print(Text(f"model of every run: {models.pop() or '-'}"))
    if not with_roles and (study_dir / "tables" / "sslmem_scores.parquet").exists():
        console.print(Text("this sslmem study predates tables/sslmem_runs: run it again with the "
                           "same --out to record which runs are f and g (finished trainings "
                           "are reused)"), style="yellow")  # fmt: skip


def _load_config(path: Path, validate):
    """Read a YAML config (``config_file.read_config``) and validate it, naming the file and the
    key of any mistake (raised as ``BadInput``: the error boundary prints it, exit 2)."""
    from mnemoscope.config_file import read_config

    raw = read_config(path)
    try:
        return validate(raw)
    except ValueError as error:
        raise errors.BadInput(f"{path}: {errors.describe(error)}") from error


def _listing_table(names: list[str], *columns: str) -> Table:
    """A table whose first column holds the names a user types: never cut, whatever the
    terminal's width; the other columns wrap."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("name", no_wrap=True, min_width=max(map(len, names), default=4))
    for column in columns:
        table.add_column(column, overflow="fold")
    table.columns[0].header = "name"
    return table


def _warn(message: str | None) -> None:
    if message:
        console.print(Text(message), style="yellow")


def _maybe(value) -> str:
    return "-" if value is None else f"{value:,}"


def main() -> None:
    app()
