"""The ``mnemoscope`` command line: each command composes library calls, nothing more."""

from __future__ import annotations

from pathlib import Path

import typer
import yaml
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text

app = typer.Typer(
    help="Measure memorization in supervised and self-supervised training of image encoders.",
    no_args_is_help=True,
    add_completion=False,
)
# soft_wrap: messages hold paths and values a user copies; never break them with newlines.
console = Console(soft_wrap=True)


@app.callback()
def options(
    threads: int | None = typer.Option(
        None, "--threads",
        help="CPU threads for torch (default: torch's, one per core). On a machine shared with "
        "other jobs, fewer threads than cores keeps small-batch work from stalling.",
    ),
) -> None:  # fmt: skip
    """Measure memorization in supervised and self-supervised training of image encoders."""
    if threads is not None:
        import torch

        if threads < 1:
            raise typer.BadParameter(
                f"{threads} threads: give an integer >= 1", param_hint="--threads"
            )
        # Recorded in every run's meta.json (environment.torch_threads): results are bit
        # for bit reproducible on the same machine and thread count.
        torch.set_num_threads(threads)


@app.command()
def demo(
    out: Path = typer.Option(Path("runs/demo"), "--out", help="run directory of the demo"),
    quick: bool = typer.Option(False, "--quick", help="the quick configs (under 5 minutes)"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bars"),
) -> None:
    """Run the three studies at demo scale on the embedded dataset and build the HTML report."""
    from mnemoscope.demo import headlines, run_demo

    report = run_demo(out, quick=quick, quiet=quiet)
    for study, lines in headlines(out).items():
        console.print(f"[bold]{study}[/bold]")
        for line in lines:
            console.print(Text(f"  - {line}"))
    console.print(Text(f"report: {report}"), style="bold green")


@app.command()
def report(run_dir: Path = typer.Argument(..., help="a study or demo run directory")) -> None:
    """Build the self-contained HTML report of a run directory (finished or not)."""
    from mnemoscope.reports import build_report

    try:
        path = build_report(run_dir)
    except (FileNotFoundError, ValueError) as error:
        console.print(Text(str(error)), style="red")
        raise typer.Exit(2) from None
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
            config_class, _ = studies.get(entry)
        except (ValueError, ImportError) as error:
            console.print(Text(f"{entry}: {error}"), style="red")
            raise typer.Exit(2) from None
        typer.echo(markdown(config_class, f"study: {entry} (`mnemoscope run CONFIG.yaml`)"))


@app.command()
def datasets() -> None:
    """List every dataset, whether it is available here, and its sizes."""
    from mnemoscope import data

    table = Table("name", "available", "train", "test", "image", "classes", "where", "note")
    for entry in data.catalog():
        table.add_row(
            entry.name,
            "[green]yes[/green]" if entry.available else "[red]no[/red]",
            _maybe(entry.train_size),
            _maybe(entry.test_size),
            "x".join(map(str, entry.image_shape)) if entry.image_shape else "-",
            _maybe(entry.num_classes),
            # Paths and notes come from the file system: Text() keeps rich from parsing markup.
            Text(entry.location or "-"),
            Text(entry.note),
        )
    console.print(table)


@app.command("models")
def list_models(
    in_channels: int = typer.Option(3, help="input channels to count parameters for"),
    image_size: int = typer.Option(32, help="input size to count parameters for"),
) -> None:
    """List the architectures with their parameter counts and taps."""
    from mnemoscope import models

    table = Table("name", "encoder params", "embedding", "taps", "description")
    for entry in models.catalog(in_channels=in_channels, image_size=image_size):
        table.add_row(
            entry["name"],
            f"{entry['encoder_params']:,}",
            str(entry["embedding_dim"]),
            ", ".join(entry["taps"]),
            entry["description"],
        )
    console.print(table)


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
    seed_list = [int(seed) for seed in seeds.split(",") if seed.strip()] or [config.seed]
    for seed in seed_list:
        result = train_run(config.model_copy(update={"seed": seed}), out, quiet=quiet)
        console.print(f"run directory: {result.run.path}", markup=False, highlight=False)


@app.command()
def run(
    config_path: Path = typer.Argument(..., help="YAML file of a study config (key 'study')"),
    out: Path | None = typer.Option(None, "--out", help="run directory (default runs/<study>)"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bars"),
) -> None:
    """Run a study (profiles, sslmem, benign...) from its config; finished trainings are reused."""
    from mnemoscope import studies

    config = _load_config(config_path, studies.load_config)
    _, run_study = studies.get(config.study)
    result = run_study(config, out or Path("runs") / config.study, quiet=quiet)
    console.print(f"run directory: {result.path}", markup=False, highlight=False)


@app.command("sslmem-score")
def sslmem_score(
    f: list[Path] = typer.Option(..., "--f", help="checkpoint of an encoder f (repeat for K)"),
    g: list[Path] = typer.Option(..., "--g", help="checkpoint of an encoder g (repeat for K)"),
    out: Path = typer.Option(..., "--out", help="directory for tables/sslmem_scores.*"),
    dataset: str = typer.Option("fmnist-mini", help="dataset of the images to score"),
    split: str = typer.Option("train", help="train or test"),
    start: int = typer.Option(0, help="first image of the split"),
    count: int | None = typer.Option(None, help="number of images (default: to the end)"),
    augment: str = typer.Option("simclr", help="measurement augmentation preset"),
    pairs: int = typer.Option(5, help="augmentation pairs per image (paper: 5)"),
    reference: str = typer.Option("views", help="views (paper) or clean (authors' code)"),
    distance: str = typer.Option("l2", help="l2 (paper) or angular"),
    tap: str = typer.Option(
        "auto", help="representation tap (auto = last feature map / ViT tokens, appendix A)"
    ),
    seed: int = typer.Option(0, help="seed of the views"),
    device: str = typer.Option("cpu", help="cpu, cuda, cuda:N or mps"),
) -> None:
    """SSLMem scores (paper 002, eq. 2) of dataset images for checkpointed encoders f and g."""
    from mnemoscope.sslmem import score_dataset

    try:
        table = score_dataset(f, g, out, dataset=dataset, split=split, start=start, count=count,
                              augment=augment, pairs=pairs, reference=reference, distance=distance,
                              tap=tap, seed=seed, device=device)  # fmt: skip
    except ValueError as error:
        console.print(str(error), markup=False, highlight=False)
        raise typer.Exit(2) from None
    console.print(
        f"{len(table)} images, mean score {table['score_raw'].mean():+.5f} (raw), "
        f"{table['score_norm'].mean():+.4f} (normalized); table: {out / 'tables'}",
        markup=False, highlight=False,
    )  # fmt: skip


def _load_config(path: Path, validate):
    """Read a YAML config (safe_load only) and validate it, naming the key of any mistake."""
    if not path.exists():
        raise typer.BadParameter(f"config file {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise typer.BadParameter(f"{path} is not valid YAML: {error}") from error
    try:
        return validate(raw)
    except ValueError as error:
        if not isinstance(error, ValidationError):
            console.print(f"{path}: {error}", markup=False, highlight=False)
            raise typer.Exit(2) from None
        lines = [f"{path}: invalid config"]
        for problem in error.errors():
            key = ".".join(str(part) for part in problem["loc"])
            lines.append(f"  {key} = {problem.get('input')!r}: {problem['msg']}")
        console.print("\n".join(lines), markup=False, highlight=False)
        raise typer.Exit(2) from None


def _maybe(value) -> str:
    return "-" if value is None else f"{value:,}"


def main() -> None:
    app()
