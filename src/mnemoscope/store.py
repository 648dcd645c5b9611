"""The run store: one directory layout for everything a run writes.

    RUN_DIR/
      config.yaml          the validated config that produced the run
      meta.json            versions, git commit, device, seeds, start/end times
      arrays/NAME.npy      raw arrays (memory-mappable)
      tables/NAME.parquet  tables, with a CSV twin for people and spreadsheets
      tables/NAME.csv
      figures/NAME.png     figures
      checkpoints/NAME.safetensors
      COMPLETE             written last: a run without it is partial
      LOCK                 while a process writes the directory (``mnemoscope.locks``)

Every file is written atomically (temporary file ``.NAME.XXXXXXXX.tmp`` in the same directory,
fsync, rename), so a process killed at any instant leaves either the old file or the new one,
never half of one, and a run only counts as complete once ``COMPLETE`` exists. ``write_config``
starts a (re)write: it removes ``COMPLETE`` first, so a directory never says COMPLETE over
results that are not its config's. One process writes a directory at a time: ``claim`` holds its
lock and removes the temporaries that killed writers left behind.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch
import yaml

from mnemoscope import config_file, locks

COMPLETE_MARKER = "COMPLETE"
# Temporaries of ``atomic_write``: ".NAME.XXXXXXXX.tmp" (also tempfile.mkstemp's names, which
# earlier versions used). ``claim`` removes only files matching this pattern.
TEMPORARY = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")
# Folders of the layout above whose temporaries ``claim`` removes (never ``runs/``: the run
# directories there have locks of their own).
ARTEFACT_FOLDERS = ("arrays", "tables", "figures", "checkpoints", "measurements")


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Write ``path`` through ``write(file)`` so that readers never see a partial file.

    The bytes go to a temporary file beside ``path`` (same filesystem, so the final
    ``os.replace`` is atomic), are flushed to disk, and only then renamed over ``path``.
    If ``write`` raises, the temporary file is removed and ``path`` is left as it was.
    The file is created with mode 0o666 less the process's umask, like ``open(path, "w")``
    (``tempfile.mkstemp`` would make it 0o600): the kernel applies the umask (and any default
    ACL) at creation, so nothing here reads or changes the process-global umask, and writers
    in several threads need no lock.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = _create_temporary(path)
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp_name, path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        if isinstance(error, OSError) and error.filename is None:
            error.filename = str(path)  # "No space left on device" says which file it was
        raise
    return path


def _create_temporary(path: Path) -> tuple[int, str]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        name = str(path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(name, flags, 0o666), name
        except FileExistsError:  # 2**32 names: only ever a coincidence, draw again
            continue


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda file: file.write(text.encode("utf-8")))


def remove_temporaries(directory: str | Path) -> list[Path]:
    """Remove the temporaries that killed ``atomic_write``s left in ``directory`` and its
    artefact folders; return their paths. Call it only while holding the directory's lock
    (``claim`` does): another writer's temporary is a file it is still writing."""
    directory = Path(directory)
    removed = []
    for folder in (directory, *(directory / name for name in ARTEFACT_FOLDERS)):
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if TEMPORARY.fullmatch(path.name) and path.is_file() and not path.is_symlink():
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


@contextlib.contextmanager
def claim(path: str | Path, *, wait: float | None = 0.0) -> Iterator[RunDir]:
    """Own the directory ``path`` for the block: hold its lock (``locks.hold``; ``wait`` as
    there: 0 refuses at once, naming the holder), remove orphan temporaries, yield its RunDir."""
    with locks.hold(path, wait=wait):
        remove_temporaries(path)
        yield RunDir(path)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class RunDir:
    """A run directory. Creating the object creates nothing; the first write does."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    # -- config and meta -------------------------------------------------------------------
    def write_config(self, config: Mapping[str, Any]) -> Path:
        """Write ``config.yaml``, the start of a (re)write: ``COMPLETE`` is removed first, so
        a run killed or failing while rewriting a finished directory is not taken for
        complete. Write the config before any other file of the run."""
        self.unmark_complete()
        text = yaml.safe_dump(_plain(config), sort_keys=False)
        return atomic_write_text(self.path / "config.yaml", text)

    def read_config(self) -> dict[str, Any]:
        """The run's ``config.yaml``, read by ``config_file`` (the one strict YAML reader)."""
        return config_file.read_config(self.path / "config.yaml")

    def read_meta(self) -> dict[str, Any]:
        meta_path = self.path / "meta.json"
        return json.loads(meta_path.read_text()) if meta_path.exists() else {}

    def update_meta(self, **fields: Any) -> dict[str, Any]:
        """Merge ``fields`` into ``meta.json`` (read, update, atomic rewrite)."""
        meta = self.read_meta() | _plain(fields)
        atomic_write_text(self.path / "meta.json", json.dumps(meta, indent=2, sort_keys=True))
        return meta

    # -- arrays ----------------------------------------------------------------------------
    def array_path(self, name: str) -> Path:
        return self.path / "arrays" / f"{_check_name(name)}.npy"

    def save_array(self, name: str, array: np.ndarray | torch.Tensor) -> Path:
        if isinstance(array, torch.Tensor):
            array = array.detach().cpu().numpy()
        return atomic_write(self.array_path(name), lambda file: np.save(file, array))

    def load_array(self, name: str, mmap: bool = True) -> np.ndarray:
        # allow_pickle=False: a run directory may come from someone else.
        return np.load(self.array_path(name), mmap_mode="r" if mmap else None, allow_pickle=False)

    def has_array(self, name: str) -> bool:
        return self.array_path(name).exists()

    # -- tables ----------------------------------------------------------------------------
    def save_table(self, name: str, table: Any) -> Path:
        """Write a pandas DataFrame as ``tables/NAME.parquet`` and ``tables/NAME.csv``."""
        parquet = self.path / "tables" / f"{_check_name(name)}.parquet"
        atomic_write(parquet, lambda file: table.to_parquet(file, index=False))
        atomic_write(
            parquet.with_suffix(".csv"), lambda f: f.write(table.to_csv(index=False).encode())
        )
        return parquet

    def load_table(self, name: str) -> Any:
        import pandas as pd

        return pd.read_parquet(self.path / "tables" / f"{_check_name(name)}.parquet")

    # -- figures ---------------------------------------------------------------------------
    def save_figure(self, name: str, figure: Any, dpi: int = 110) -> Path:
        """Save ``figure`` as PNG with every text literal: labels come from data (class names
        of a folder dataset, config strings), and ``$...$`` in them must never be mathtext."""
        import matplotlib
        from matplotlib.text import Text

        path = self.path / "figures" / f"{_check_name(name)}.png"
        for text in figure.findobj(Text):
            text.set_parse_math(False)
        # Texts made while drawing (tick labels) read the rc value: set for this save only.
        with matplotlib.rc_context({"text.parse_math": False}):
            return atomic_write(path, lambda file: figure.savefig(file, format="png", dpi=dpi))

    # -- checkpoints -----------------------------------------------------------------------
    def checkpoint_path(self, name: str) -> Path:
        return self.path / "checkpoints" / f"{_check_name(name)}.safetensors"

    def save_checkpoint(
        self,
        name: str,
        tensors: Mapping[str, torch.Tensor],
        metadata: Mapping[str, str] | None = None,
    ) -> Path:
        from safetensors.torch import save

        # safetensors refuses shared or non-contiguous storage; checkpoints own their bytes.
        owned = {key: value.detach().cpu().contiguous().clone() for key, value in tensors.items()}
        data = save(owned, metadata=dict(metadata or {}))
        return atomic_write(self.checkpoint_path(name), lambda file: file.write(data))

    def load_checkpoint(self, name: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
        return load_safetensors(self.checkpoint_path(name))

    # -- summary -----------------------------------------------------------------------------
    def write_summary(self, summary: Mapping[str, Any]) -> Path:
        """``summary.json``: a study's headline numbers and one-line ``headlines``.

        NaN and infinities become null (JSON has neither), numpy scalars plain numbers.
        """
        text = json.dumps(json_safe(summary), indent=2)
        return atomic_write_text(self.path / "summary.json", text)

    # -- completion ------------------------------------------------------------------------
    @property
    def is_complete(self) -> bool:
        return (self.path / COMPLETE_MARKER).exists()

    def mark_complete(self) -> None:
        """Write the completion marker. Call it after every other file of the run exists."""
        atomic_write_text(self.path / COMPLETE_MARKER, now_iso() + "\n")

    def unmark_complete(self) -> None:
        """Remove the completion marker, if any (``write_config`` does, before a rewrite).
        The removal is one ``unlink``, atomic: the run is complete or not, never in between."""
        (self.path / COMPLETE_MARKER).unlink(missing_ok=True)

    @contextlib.contextmanager
    def timed(self, key: str) -> Iterator[None]:
        """Record start and end times (and seconds) of a block under ``meta.json[key]``."""
        start = datetime.now(timezone.utc)
        self.update_meta(**{key: {"start": start.isoformat(timespec="seconds")}})
        yield
        end = datetime.now(timezone.utc)
        self.update_meta(
            **{
                key: {
                    "start": start.isoformat(timespec="seconds"),
                    "end": end.isoformat(timespec="seconds"),
                    "seconds": round((end - start).total_seconds(), 3),
                }
            }
        )


def load_safetensors(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Load tensors and string metadata from a safetensors file (never unpickles).

    A truncated or corrupt file raises ``BadInput`` naming it (safetensors' own error does not).
    """
    from safetensors import SafetensorError, safe_open

    from mnemoscope.errors import BadInput

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        with safe_open(str(path), framework="pt") as file:
            tensors = {key: file.get_tensor(key) for key in file.keys()}  # noqa: SIM118
            metadata = dict(file.metadata() or {})
    except SafetensorError as error:
        raise BadInput(
            f"{path} is not a readable safetensors file (truncated or corrupt?): {error}"
        ) from None
    return tensors, metadata


def json_safe(value: Any) -> Any:
    """``value`` with NaN/inf as None and tuples, paths, numpy and torch scalars made plain."""
    value = _plain(value)
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_safe(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _check_name(name: str) -> str:
    # Names become file names: refuse anything that could escape the run directory.
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(f"invalid artefact name {name!r}: use a plain file name without '/'")
    return name


def _plain(value: Any) -> Any:
    """Turn tuples, paths, numpy scalars and tensors into YAML/JSON-safe plain values."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    return value
