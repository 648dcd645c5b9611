"""The run store: one directory layout for everything a run writes.

    RUN_DIR/
      config.yaml          the validated config that produced the run
      meta.json            versions, git commit, device, seeds, start/end times
      arrays/NAME.npy      raw arrays (memory-mappable)
      tables/NAME.parquet  tables, with a CSV twin for people and spreadsheets
      tables/NAME.csv
      figures/NAME.png     figures
      checkpoints/NAME.safetensors
      MANIFEST.json        the run's outputs with their hashes, its config's hash and kind
      COMPLETE             written last: a run without it is partial
      LOCK                 while a process writes the directory (``mnemoscope.locks``)

Every file is written atomically (temporary file ``.NAME.XXXXXXXX.tmp`` in the same directory,
fsync, rename), so a process killed at any instant leaves either the old file or the new one,
never half of one, and a run only counts as complete once ``COMPLETE`` exists. ``write_config``
starts a (re)write: it removes ``COMPLETE`` first, so a directory never says COMPLETE over
results that are not its config's. One process writes a directory at a time: ``claim`` holds its
lock and removes the temporaries that killed writers left behind.

A finished directory's outputs are bound to the config that produced them, and a directory
belongs to one kind of writer:
- ``claim(path, kind=...)`` refuses a directory that another kind of command wrote (a study
  directory is not an ``sslmem-score`` output: writing one into the other would mix them);
  the kind is recorded in ``meta.json``.
- While a process holds a directory, ``atomic_write`` notes each output written into it.
  ``mark_complete`` removes the outputs in the artefact folders that this run did not write
  (the results of an earlier config, which a rerun of another config leaves behind), then
  writes ``MANIFEST.json``: every output file with its SHA-256, the config's hash and the
  kind; ``COMPLETE`` follows. A run that resumes what earlier processes wrote (a training
  run) passes ``prune=False``.
- Readers (``verify``) refuse or flag a file that is not in the manifest, or differs from it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch
import yaml

from mnemoscope import config_file, locks

COMPLETE_MARKER = "COMPLETE"
MANIFEST = "MANIFEST.json"
TIMINGS = "timings"  # meta.json: {phase: wall seconds} (RunDir.timed)
# Top-level files that are not outputs of the run: its record-keeping, the lock, and the
# report that ``mnemoscope report`` (re)builds from the outputs at any time.
NOT_OUTPUTS = frozenset({COMPLETE_MARKER, MANIFEST, "meta.json", locks.LOCK_FILE, "report.html"})
# The kinds of directory a command writes (``claim``'s ``kind``).
KINDS = ("study", "training", "sslmem-score", "demo")
# Temporaries of ``atomic_write``: ".NAME.XXXXXXXX.tmp" (also tempfile.mkstemp's names, which
# earlier versions used). ``claim`` removes only files matching this pattern.
TEMPORARY = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")
# What a process killed while claiming a lock leaves (``locks._claim``): removed with them.
LOCK_CLAIM = re.compile(r"\.LOCK\.[0-9a-f]{16}\.claim")
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
        _note_written(path)
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


# The outputs written into each directory this process holds (``claim``), by directory.
_written: dict[str, set[str]] = {}
_written_lock = threading.Lock()


def _note_written(path: Path) -> None:
    """Record ``path`` as written by this run if it is an output of a directory held here."""
    if not _written:
        return
    path_name = os.path.abspath(path)
    parent = os.path.dirname(path_name)
    owners = [parent]
    if os.path.basename(parent) in ARTEFACT_FOLDERS:
        owners.append(os.path.dirname(parent))
    with _written_lock:
        for owner in owners:
            if owner in _written:
                _written[owner].add(path_name)


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda file: file.write(text.encode("utf-8")))


def remove_temporaries(directory: str | Path) -> list[Path]:
    """Remove the temporaries that killed ``atomic_write``s left in ``directory`` and its
    artefact folders, and the ``.LOCK.<token>.claim`` files of processes killed while claiming
    its lock; return their paths. Call it only while holding the directory's lock (``claim``
    does): another writer's temporary is a file it is still writing. (A claim file of a process
    claiming right now may go too: its ``link`` then fails and it tries again.)"""
    directory = Path(directory)
    removed = []
    for folder in (directory, *(directory / name for name in ARTEFACT_FOLDERS)):
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            orphan = TEMPORARY.fullmatch(path.name) or (
                folder == directory and LOCK_CLAIM.fullmatch(path.name)
            )
            if orphan and path.is_file() and not path.is_symlink():
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


@contextlib.contextmanager
def claim(
    path: str | Path, *, wait: float | None = 0.0, kind: str | None = None
) -> Iterator[RunDir]:
    """Own the directory ``path`` for the block: hold its lock (``locks.hold``; ``wait`` as
    there: 0 refuses at once, naming the holder), refuse it (``BadInput``, nothing written)
    when another ``kind`` of command wrote it, remove orphan temporaries, yield its RunDir.
    The outputs written into it meanwhile are noted for ``RunDir.mark_complete``."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"unknown kind of directory {kind!r}: one of {KINDS}")
    with locks.hold(path, wait=wait):
        found = directory_kind(path)
        if kind is not None and found is not None and found != kind:
            from mnemoscope.errors import BadInput

            raise BadInput(
                f"{path} is {_KIND_TEXT[found]}, not {_KIND_TEXT[kind]}: a command writes only "
                f"into a directory of its own kind (mixing them would leave results that do not "
                f"belong together); choose another --out"
            )
        remove_temporaries(path)
        key = os.path.abspath(path)
        with _written_lock:
            _written[key] = set()
        try:
            yield RunDir(path, kind=kind)
        finally:
            with _written_lock:
                _written.pop(key, None)


_KIND_TEXT = {"study": "a study directory", "training": "a training run directory",
              "sslmem-score": "an sslmem-score output directory",
              "demo": "a demo directory"}  # fmt: skip


def directory_kind(path: str | Path) -> str | None:
    """Which kind of command wrote the directory ``path`` (``KINDS``), or None for a new or
    unrecognized one. ``meta.json`` records it; directories of earlier versions are told by
    what their meta.json and config.yaml hold."""
    path = Path(path)
    try:
        meta = json.loads((path / "meta.json").read_text())
    except (OSError, ValueError):
        meta = None
    if isinstance(meta, dict):
        if meta.get("kind") in KINDS:
            return str(meta["kind"])
        if str(meta.get("command", "")).startswith("sslmem-score"):
            return "sslmem-score"
        if "study" in meta:
            return "study"
        if "config_key" in meta:
            return "training"
    try:
        config = config_file.read_config(path / "config.yaml")
    except (OSError, ValueError, yaml.YAMLError):
        return None
    if isinstance(config, dict):
        if "study" in config:
            return "study"
        if "demo" in config:
            return "demo"
    return None


def outputs(directory: str | Path) -> list[Path]:
    """The output files of a run directory: its top-level files but its record-keeping
    (``NOT_OUTPUTS``) and hidden ones, and every file of its artefact folders but
    temporaries; sorted. Subdirectories other than those (``runs/``, a repeated study's
    ``study-seed-<k>/``, a nested study) are run directories of their own."""
    directory = Path(directory)
    found = []
    if directory.is_dir():
        found += [path for path in directory.iterdir() if path.is_file()
                  and path.name not in NOT_OUTPUTS and not path.name.startswith(".")]  # fmt: skip
    for name in ARTEFACT_FOLDERS:
        folder = directory / name
        if folder.is_dir():
            found += [path for path in folder.iterdir()
                      if path.is_file() and not TEMPORARY.fullmatch(path.name)]  # fmt: skip
    return sorted(found)


def file_hash(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, read in blocks (checkpoints may be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class RunDir:
    """A run directory. Creating the object creates nothing; the first write does.

    ``kind`` (set by ``claim``): the kind of command writing it, recorded in ``meta.json``."""

    def __init__(self, path: str | Path, kind: str | None = None) -> None:
        self.path = Path(path)
        self.kind = kind
        self._nested_seconds: list[float] = []  # per open ``timed`` block: its inner blocks'

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
        if self.kind is not None:
            meta["kind"] = self.kind
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

    def mark_complete(self, *, prune: bool = True) -> None:
        """Bind the outputs to the config and write the completion marker. Call it after every
        other file of the run exists.

        With ``prune`` (a run that rewrote every output, as a study does) the files of the
        artefact folders that this process did not write while holding the directory are
        removed first: they are an earlier run's. Then ``MANIFEST.json`` lists every output
        with its hash, and ``COMPLETE`` is written last. Without a hold (``claim``) nothing
        is known to be stale and nothing is removed."""
        if prune:
            self.remove_stale_outputs()
        files = {path.relative_to(self.path).as_posix(): file_hash(path)
                 for path in outputs(self.path)}  # fmt: skip
        config = self.path / "config.yaml"
        manifest = {"kind": self.kind or directory_kind(self.path),
                    "config_sha256": file_hash(config) if config.is_file() else None,
                    "files": files}  # fmt: skip
        atomic_write_text(self.path / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))
        atomic_write_text(self.path / COMPLETE_MARKER, now_iso() + "\n")

    def remove_stale_outputs(self) -> list[Path]:
        """Remove the artefact-folder files this process did not write while holding the
        directory (``claim``); return them. Nothing is removed without a hold."""
        with _written_lock:
            written = _written.get(os.path.abspath(self.path))
            written = None if written is None else set(written)
        if written is None:
            return []
        stale = [path for path in outputs(self.path) if path.parent != self.path
                 and os.path.abspath(path) not in written]  # fmt: skip
        for path in stale:
            path.unlink(missing_ok=True)
        return stale

    def unmark_complete(self) -> None:
        """Remove the completion marker, if any (``write_config`` does, before a rewrite),
        then the manifest. The removal is one ``unlink``, atomic: the run is complete or not,
        never in between."""
        (self.path / COMPLETE_MARKER).unlink(missing_ok=True)
        (self.path / MANIFEST).unlink(missing_ok=True)

    def read_manifest(self) -> dict[str, Any] | None:
        """``MANIFEST.json``, or None when there is none (a partial run, or a run finished by
        a version that wrote none) or it is not a JSON object."""
        try:
            manifest = json.loads((self.path / MANIFEST).read_text())
        except (OSError, ValueError):
            return None
        return manifest if isinstance(manifest, dict) else None

    def verify(self, *, hashes: bool = True) -> list[str]:
        """What does not belong to the finished run: output files not in its manifest, listed
        ones missing or (``hashes``) changed since, a config changed since. Empty for a run
        whose outputs are exactly its manifest's, and for one without a manifest (partial,
        or from an earlier version: nothing to check against)."""
        manifest = self.read_manifest() if self.is_complete else None
        if manifest is None:
            return []
        listed = manifest.get("files")
        listed = listed if isinstance(listed, dict) else {}
        problems = []
        present = {path.relative_to(self.path).as_posix(): path for path in outputs(self.path)}
        for name in sorted(set(present) - set(listed)):
            problems.append(f"{self.path / name} is not an output of the finished run "
                            f"(not in its {MANIFEST})")  # fmt: skip
        for name, digest in sorted(listed.items()):
            if name not in present:
                problems.append(f"{self.path / name} is missing (listed in {MANIFEST})")
            elif hashes and file_hash(present[name]) != digest:
                problems.append(f"{self.path / name} changed after the run finished "
                                f"(its hash differs from {MANIFEST}'s)")  # fmt: skip
        return problems

    @contextlib.contextmanager
    def timed(self, phase: str) -> Iterator[None]:
        """Add the wall seconds of a block to ``meta.json``'s ``timings[phase]``: where a run's
        time went, shown by the report. Phases are exclusive: a block timed inside another
        (training inside a comparison) counts only in its own phase, so the phases of a run
        add up to at most its wall time; a phase timed twice adds up."""
        start = time.perf_counter()
        self._nested_seconds.append(0.0)
        try:
            yield
        finally:
            inner = self._nested_seconds.pop()
        seconds = time.perf_counter() - start
        if self._nested_seconds:
            self._nested_seconds[-1] += seconds
        timings = dict(self.read_meta().get(TIMINGS) or {})
        timings[phase] = round(timings.get(phase, 0.0) + seconds - inner, 3)
        self.update_meta(**{TIMINGS: timings})


def check_outputs(path: str | Path, reader: str) -> bool:
    """Whether ``path`` is a finished run; refuse (``BadInput``) one whose outputs are not its
    manifest's (``RunDir.verify``): a ``reader`` (a command) never takes another run's files
    for this one's. A run without ``COMPLETE`` is said on stderr and read (it may be partial)."""
    import sys

    from mnemoscope.errors import BadInput

    run = RunDir(path)
    problems = run.verify()
    if problems:
        more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
        raise BadInput(
            f"{reader}: {path} holds files its finished run did not write or that changed "
            f"since: {'; '.join(problems[:3])}{more}. Run its study again with this --out to "
            "rewrite it"
        )
    if not run.is_complete:
        print(f"warning: {path} has no {COMPLETE_MARKER} marker: its run has not finished, "
              "what it holds may be partial", file=sys.stderr)  # fmt: skip
    return run.is_complete


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
