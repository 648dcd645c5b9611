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
from rich.table import Column


def make_progress(transient: bool = False) -> Progress:
    """A display whose tasks may carry ``loss`` and ``speed`` fields (training runs) or not
    (overall study progress: the fields default to empty).

    Fits 80 columns: the description is cut (with an ellipsis) at 24 characters, the bar is
    short, and counts, loss, speed and times are never wrapped or cut (what a user watches)."""
    def fixed(width: int) -> Column:  # never wrapped nor cut: at least ``width`` wide
        return Column(no_wrap=True, min_width=width)

    return Progress(
        TextColumn("{task.description}", style="bold", markup=False,
                   table_column=Column(max_width=24, no_wrap=True, overflow="ellipsis")),
        BarColumn(bar_width=8),
        MofNCompleteColumn(table_column=fixed(5)),
        TextColumn("{task.fields[loss]}", table_column=fixed(11)),
        TextColumn("{task.fields[speed]}", table_column=fixed(11)),
        TimeElapsedColumn(table_column=fixed(7)),
        TextColumn("eta", table_column=fixed(3)),
        TimeRemainingColumn(table_column=fixed(7)),
        transient=transient,
    )  # fmt: skip


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
