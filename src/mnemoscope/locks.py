"""An exclusive lock on a directory that names its holder, portable to shared (NFS) storage.

One process at a time writes a study or training run directory: ``hold(directory)`` creates
``directory/LOCK``, a JSON file ``{"pid", "host", "started", "pid_start", "token"}``, and removes
it on exit. A second process either refuses at once (``wait=0``, studies: two studies in one
``--out`` would mix their results) or waits until the lock is free (``wait`` seconds, or ``None``
for as long as the holder lives: training runs shared by two studies, where the second then
finds the run complete), and raises ``LockHeld`` naming the holder when it gives up.

Why a lock file and not ``fcntl``/``flock``: Ray or SLURM workers on several hosts share run
directories over NFS, where byte-range locks depend on a lock daemon and ``flock`` may be local
to one client. The file is first written in full under a unique name and then ``os.link``-ed to
``LOCK``: ``link`` is atomic and fails if ``LOCK`` exists, on local file systems and on NFS
alike, so a reader never sees a half-written lock and two processes never both hold it.

Stale locks (a holder killed by SIGKILL or the OOM killer cannot remove its file):
- Same host: the holder is dead when its pid no longer exists or is a zombie (killed, not yet
  reaped), or when the process now under that pid started at another time than the holder did
  (``pid_start``, from ``/proc``: a reused pid). A stale lock is
  taken over: under a ``flock`` of the lock file (only processes of this host take over, so
  a lock local to this host suffices to serialize them), it is re-read, removed only if it is
  still that same stale lock (its ``token``), and claimed again as above.
- Another host: the pid cannot be checked from here, so the holder proves it lives by a
  heartbeat: while it holds the lock, a thread touches ``LOCK`` every ``HEARTBEAT_SECONDS``.
  A lock whose file has not been touched for ``STALE_AFTER_SECONDS`` (many heartbeats, and
  more than any clock skew between hosts of one cluster) belongs to a dead host or process
  and is taken over as above; until then the holder counts as alive, and a refusal names it
  and says to remove ``LOCK`` by hand once that process is known to be gone. (Across hosts
  the take-over relies on ``flock`` reaching the file server, as Linux's NFS client does
  with byte-range locks; on a ``nolock`` mount two hosts taking over one stale lock in the
  same instant could both succeed.)
- A ``LOCK`` that is not such a record (text, empty, not UTF-8, a pid that is not a number)
  names no holder that could be checked or could release it: it is refused at once with one
  message naming the file and saying to remove it (``MalformedLock``), never waited for.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import secrets
import socket
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mnemoscope.errors import BadInput

LOCK_FILE = "LOCK"
POLL_SECONDS = 0.2
HEARTBEAT_SECONDS = 60.0
STALE_AFTER_SECONDS = 30 * 60.0


class LockHeld(BadInput, RuntimeError):
    """The directory is locked by another live process (``holder``: the lock file's fields).
    Nothing ran: bad input (exit 2) -- another ``--out``, or wait for that process."""

    def __init__(self, directory: Path, holder: dict[str, Any], waited: float | None) -> None:
        self.directory, self.holder = directory, holder
        where = "this host" if holder.get("host") == socket.gethostname() else "another host"
        waited_text = f" after waiting {waited:.0f} s" if waited else ""
        advice = (
            "wait for it to finish or stop it"
            if where == "this host"
            else f"its pid cannot be checked from here: the lock is taken over once its "
            f"heartbeat has stopped for {STALE_AFTER_SECONDS / 60:.0f} min, or remove "
            f"{directory / LOCK_FILE} by hand once that process is known to be gone"
        )
        super().__init__(
            f"{directory} is in use{waited_text}: locked by {describe(holder)} ({where}); {advice}"
        )


class MalformedLock(BadInput):
    """``LOCK`` is not a record this module wrote (text, empty, not UTF-8, a pid that is not a
    number): its holder cannot be checked, so no wait could ever end. Bad input (exit 2)."""

    def __init__(self, directory: Path, holder: dict[str, Any]) -> None:
        path = directory / LOCK_FILE
        super().__init__(
            f"{path} is not a lock record of mnemoscope ({_malformed(holder)}), so its holder "
            f"cannot be checked: if no mnemoscope process is writing {directory}, remove "
            f"{path} and run again"
        )


def _malformed(holder: dict[str, Any]) -> str | None:
    """What makes ``holder`` unusable as a lock record, or None for a well-formed one."""
    if "raw" in holder:
        return f"not a JSON record: {holder['raw']!r}" if holder["raw"] else "an empty file"
    pid, host = holder.get("pid"), holder.get("host")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return f"pid {pid!r} is not a process id"
    if not isinstance(host, str) or not host:
        return f"host {host!r} is not a host name"
    return None


def describe(holder: dict[str, Any]) -> str:
    """``pid 123 on host h since 2026-11-30T10:00:00+00:00``: a lock holder for a message."""
    if "raw" in holder:
        return f"an unknown process (the lock file is not a JSON record: {holder['raw']!r})"
    return f"pid {holder.get('pid')} on host {holder.get('host')} since {holder.get('started')}"


@contextlib.contextmanager
def hold(directory: str | Path, *, wait: float | None = 0.0) -> Iterator[dict[str, Any]]:
    """Hold ``directory``'s lock for the block (the directory is created if missing).

    ``wait``: seconds to wait for a live holder (0: refuse at once; None: as long as it lives).
    Raises ``LockHeld`` naming the holder when the lock is not obtained. Yields this process's
    lock record. Not re-entrant: a process that already holds the lock is refused like others.
    A directory created here and still empty at the end is removed (a refused bad input leaves
    no trace).
    """
    directory = Path(directory)
    # the directory and every missing parent (runs/ of runs/sslmem): all go if left empty
    created = [path for path in (directory, *directory.parents) if not path.exists()]
    record = acquire(directory, wait=wait)
    stop = threading.Event()
    beating = threading.Thread(target=_heartbeat, args=(directory, stop), daemon=True)
    beating.start()
    try:
        yield record
    finally:
        stop.set()
        beating.join()
        release(directory, record)
        for path in created:  # deepest first
            try:
                path.rmdir()
            except OSError:  # not empty: the run (or someone else) wrote something
                break


def acquire(directory: Path, *, wait: float | None = 0.0) -> dict[str, Any]:
    """Take ``directory``'s lock (see ``hold``) and return the record written in ``LOCK``."""
    record = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "pid_start": _process(os.getpid())[1],
        "token": secrets.token_hex(8),
    }
    payload = json.dumps(record, indent=2).encode()
    start = time.monotonic()
    announced = False
    while True:
        directory.mkdir(parents=True, exist_ok=True)  # again: an emptied one may be removed
        if _claim(directory, payload, record["token"]):
            return record
        holder = read_holder(directory)
        if holder is None:  # released between our attempt and the read: try again
            continue
        if _malformed(holder) is not None:  # never stale, never released: say so, now
            raise MalformedLock(directory, holder)
        if _is_stale(holder, directory):
            _take_over(directory, holder)
            continue
        waited = time.monotonic() - start
        if wait is not None and waited >= wait:
            raise LockHeld(directory, holder, waited if wait else None)
        if not announced:
            print(f"waiting for {directory}: locked by {describe(holder)}", file=sys.stderr)
            announced = True
        time.sleep(POLL_SECONDS)


def release(directory: Path, record: dict[str, Any]) -> None:
    """Remove ``LOCK`` if it is still ``record``'s (a lock taken over by hand is left alone)."""
    holder = read_holder(directory)
    if holder is not None and holder.get("token") == record["token"]:
        (directory / LOCK_FILE).unlink(missing_ok=True)


def read_holder(directory: str | Path) -> dict[str, Any] | None:
    """The record of ``directory``'s lock, or None when it is not locked.

    A lock file that is not a JSON object (written by hand, or damaged) is reported as a holder
    of unknown pid and host (``raw``: its first characters); ``acquire`` refuses it at once
    (``MalformedLock``): it is never removed silently, and never waited for.
    """
    try:
        text = (Path(directory) / LOCK_FILE).read_text(errors="replace")  # any bytes: reported
    except FileNotFoundError:
        return None
    try:
        holder = json.loads(text)
    except ValueError:
        holder = None
    return holder if isinstance(holder, dict) else {"pid": None, "host": None, "raw": text[:100]}


def _claim(directory: Path, payload: bytes, token: str) -> bool:
    """Write the record under a unique name, then link it to ``LOCK`` (atomic, fails if held).

    The unique name is not the atomic writer's ``.*.tmp`` pattern, so cleaning orphan
    temporaries never removes the claim of a process about to take the lock.
    """
    claim = directory / f".LOCK.{token}.claim"
    try:
        with open(claim, "wb") as file:
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())
        os.link(claim, directory / LOCK_FILE)
        return True
    except (FileExistsError, FileNotFoundError):  # held; or the directory was just removed
        return False
    except OSError as error:  # e.g. a full disk: say which directory could not be locked
        if error.filename is None:
            error.filename = str(directory / LOCK_FILE)
        raise
    finally:
        claim.unlink(missing_ok=True)


def _heartbeat(directory: Path, stop: threading.Event) -> None:
    """Touch ``LOCK`` every ``HEARTBEAT_SECONDS`` until ``stop``: hosts that cannot see our
    pid see the file's age (``_is_stale``)."""
    while not stop.wait(HEARTBEAT_SECONDS):
        with contextlib.suppress(OSError):  # gone or unreachable for a moment: try next beat
            os.utime(directory / LOCK_FILE)


def _is_stale(holder: dict[str, Any], directory: Path) -> bool:
    """True for a holder on this host whose process is gone, and for one on another host whose
    heartbeat stopped ``STALE_AFTER_SECONDS`` ago (see the module docstring)."""
    pid = holder.get("pid")
    if holder.get("host") != socket.gethostname():
        if "raw" in holder:
            return False  # not a mnemoscope lock: never removed silently
        try:
            age = time.time() - (directory / LOCK_FILE).stat().st_mtime
        except FileNotFoundError:
            return False  # released meanwhile: the next attempt claims it
        return age > STALE_AFTER_SECONDS
    if not isinstance(pid, int) or pid <= 0:
        return False
    if pid == os.getpid():
        return False  # ourselves: held, not stale (hold is not re-entrant)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, owned by another user
    state, started = _process(pid)
    if state in ("Z", "X"):
        return True  # killed, not yet reaped by its parent
    return holder.get("pid_start") not in (None, started) and started is not None


def _take_over(directory: Path, stale: dict[str, Any]) -> None:
    """Remove the stale lock ``stale``, unless another process took it over first.

    Takers serialize on a ``flock`` of the lock file itself: the one that gets it re-reads
    ``LOCK`` and unlinks it only if it still holds ``stale``'s token. Every process that could
    unlink that file holds the same inode's flock, and a new lock is a new inode.
    """
    path = directory / LOCK_FILE
    try:
        try:
            file = open(path, "r+b")  # noqa: SIM115  (write access: NFS's flock needs it)
        except PermissionError:
            file = open(path, "rb")  # noqa: SIM115  (another user's lock: local flock suffices)
    except FileNotFoundError:
        return  # taken over and released already
    with file:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX)
        current = read_holder(directory)
        if current is not None and current.get("token") == stale.get("token"):
            path.unlink()
            print(f"took over the lock of {directory} from {describe(stale)}: that process "
                  "is gone", file=sys.stderr)  # fmt: skip


def _process(pid: int) -> tuple[str | None, int | None]:
    """State letter and start time (clock ticks since boot) of process ``pid`` from Linux's
    ``/proc``; (None, None) where that is unavailable (no such process, another system)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError as error:
        if error.errno in (errno.ENOENT, errno.ESRCH, errno.EACCES, errno.ENOTDIR):
            return None, None
        raise
    # Fields 3 and 22; the command name (field 2) may hold spaces and ')': split after it.
    fields = stat.rsplit(")", 1)[1].split()
    return fields[0], int(fields[19])
