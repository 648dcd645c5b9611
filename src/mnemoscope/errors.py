"""What went wrong, in one line a user can act on: the error taxonomy of mnemoscope.

Two kinds of failure, told apart by the exit code of the command line:

* **bad input** (exit 2): something the user gave is wrong and can be fixed -- a config key or
  value, a command-line argument, a dataset file, a checkpoint, a path. ``ValueError`` (and
  ``BadInput``, pydantic's ``ValidationError``, ``UnicodeDecodeError``), YAML errors, and the
  path errors ``FileNotFoundError``, ``FileExistsError``, ``NotADirectoryError``,
  ``IsADirectoryError`` and ``PermissionError`` (a read-only or occupied ``--out``), and an
  ``OSError`` of a read-only file system (``EROFS``: an ``--out`` on a read-only mount).
* **a failure of the run** (exit 1): the input was fine but the run could not finish -- any
  other ``OSError`` (disk full, I/O error), ``RuntimeError`` (e.g. out of memory on a device),
  ``MemoryError``, and anything unexpected (a bug: ``--debug`` shows its traceback).

``describe`` turns an exception into that one line; ``shorten`` caps any value echoed into a
message, so that a 50 MB string or a huge list in a config never floods the terminal.
"""

from __future__ import annotations

import errno
import reprlib
from typing import Any

BAD_INPUT = 2
RUN_FAILED = 1
# Longest echo of one value in a message, and of one line of a message.
MAX_VALUE_CHARS = 200
MAX_LINE_CHARS = 1000
# Validation problems listed one by one; the rest are counted (a config of 450,000 unknown keys
# printed 22.7 MB).
MAX_PROBLEMS = 10

# Path errors that say the user's path is wrong (not that the machine failed).
PATH_ERRORS = (
    FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError, PermissionError,
)  # fmt: skip


def read_only(error: BaseException) -> bool:
    """Whether ``error`` refused a write into a path the user chose: no permission, or a
    read-only file system (``EROFS``, a plain ``OSError``: root meets it where permissions
    do not stop it)."""
    return isinstance(error, PermissionError) or (
        isinstance(error, OSError) and error.errno == errno.EROFS
    )


class BadInput(ValueError):
    """Input the user can fix (a config value, a file, an argument): exit code 2."""


class BadOption(BadInput, TypeError):
    """A keyword a function does not take: bad input, and a ``TypeError`` as Python's own."""


_REPR = reprlib.Repr()
_REPR.maxstring = MAX_VALUE_CHARS
_REPR.maxother = MAX_VALUE_CHARS
_REPR.maxlist = _REPR.maxtuple = _REPR.maxset = _REPR.maxdict = 8
_REPR.maxlevel = 3


def shorten(value: Any, limit: int = MAX_VALUE_CHARS) -> str:
    """``repr(value)`` in at most about ``limit`` characters, saying how long the whole was.

    Never builds the full repr (``reprlib`` stops early), so it is safe on huge values.
    """
    if isinstance(value, str | bytes) and len(value) > limit:
        return f"{value[:limit]!r}... ({len(value):,} chars)"
    text = _REPR.repr(value)
    if len(text) > limit:
        text = text[:limit] + "..."
    if isinstance(value, list | tuple | dict | set) and len(value) > _REPR.maxlist:
        text += f" ({len(value):,} items)"
    return text


def shorten_text(text: str, limit: int = MAX_LINE_CHARS) -> str:
    """Each line of ``text`` capped at ``limit`` characters (a message that quotes a value)."""
    lines = []
    for line in text.splitlines() or [""]:
        if len(line) > limit:
            line = f"{line[:limit]}... ({len(line):,} chars)"
        lines.append(line)
    return "\n".join(lines)


def exit_code(error: BaseException) -> int:
    """``BAD_INPUT`` (2) for input the user can fix, ``RUN_FAILED`` (1) otherwise."""
    import yaml

    if isinstance(error, (ValueError, yaml.YAMLError, *PATH_ERRORS)) or read_only(error):
        return BAD_INPUT
    return RUN_FAILED


def describe(error: BaseException) -> str:
    """One message for ``error``: the validation problems of a pydantic error key by key, an
    OS error with its file, anything else as its text; every line capped."""
    from pydantic import ValidationError

    if isinstance(error, ValidationError):
        count = error.error_count()
        lines = [f"invalid {error.title}" + (f" ({count:,} problems):" if count > 1 else ":")]
        for problem in error.errors(include_url=False)[:MAX_PROBLEMS]:
            key = ".".join(str(part) for part in problem["loc"]) or "(top level)"
            value = problem.get("input")
            # A whole section (a model check such as a privacy refusal): its dump would bury
            # the message, and the key names it already.
            shown = "" if isinstance(value, dict) else f" = {shorten(value)}"
            lines.append(f"  {key}{shown}: {problem['msg']}")
        if count > MAX_PROBLEMS:
            lines.append(f"  ... and {count - MAX_PROBLEMS:,} more problems (the first "
                         f"{MAX_PROBLEMS} are listed)")  # fmt: skip
        return shorten_text("\n".join(lines))
    if isinstance(error, OSError) and error.strerror:
        where = f": {error.filename}" if error.filename is not None else ""
        text = f"{error.strerror}{where}"
        if read_only(error):
            text += " (is the directory read-only? choose another --out)"
        elif isinstance(error, FileExistsError | NotADirectoryError):
            text += " (a file is in the way of a directory: choose another --out)"
        return shorten_text(text)
    text = str(error) or type(error).__name__
    if exit_code(error) == RUN_FAILED:
        text = f"{type(error).__name__}: {text}"
    return shorten_text(text)
