"""One look for every progress display: rich bars with epoch, loss, speed and ETA."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def make_progress(transient: bool = False) -> Progress:
    """A display whose tasks may carry ``loss`` and ``speed`` fields (training runs) or not
    (overall study progress: the fields default to empty)."""
    return Progress(
        TextColumn("{task.description}", style="bold", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[loss]}"),
        TextColumn("{task.fields[speed]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        transient=transient,
    )


def add_task(progress: Progress | None, description: str, total: float, completed: float = 0):
    """Add a task with empty ``loss``/``speed`` fields; returns None when there is no display."""
    if progress is None:
        return None
    return progress.add_task(description, total=total, completed=completed, loss="", speed="")


@contextlib.contextmanager
def progress_display(progress: Progress | None, quiet: bool) -> Iterator[Progress | None]:
    """Use the caller's display, none when quiet, or open one of our own for the block."""
    if progress is not None or quiet:
        yield progress
        return
    own = make_progress()
    with own:
        yield own
