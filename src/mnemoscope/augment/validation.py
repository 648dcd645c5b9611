"""Checks for preset parameters: each returns the value in canonical form or raises ValueError.

Every message names the parameter and the offending value, e.g.
``crop_scale=(0.0, 1.0) is invalid: need 0 < min <= max <= 1``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any


def _fail(name: str, value: Any, need: str) -> ValueError:
    return ValueError(f"{name}={value!r} is invalid: need {need}")


def _is_real(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def size(value: Any) -> tuple[int, int]:
    """An output size: ``s`` -> (s, s), or (height, width); positive integers."""
    pair = (value, value) if _is_int(value) else value
    if (
        not isinstance(pair, Sequence)
        or len(pair) != 2
        or not all(_is_int(v) and v > 0 for v in pair)
    ):
        raise _fail("size", value, "a positive int or a (height, width) pair of them")
    return int(pair[0]), int(pair[1])


def probability(name: str, value: Any) -> float:
    if not _is_real(value) or not 0 <= value <= 1:
        raise _fail(name, value, "a probability in [0, 1]")
    return float(value)


def non_negative(name: str, value: Any) -> float:
    if not _is_real(value) or value < 0:
        raise _fail(name, value, "a finite number >= 0")
    return float(value)


def real(name: str, value: Any) -> float:
    if not _is_real(value):
        raise _fail(name, value, "a finite number")
    return float(value)


def fraction_below_one(name: str, value: Any) -> float:
    if not _is_real(value) or not 0 <= value < 1:
        raise _fail(name, value, "a number in [0, 1)")
    return float(value)


def integer(name: str, value: Any, low: int, high: int | None = None) -> int:
    if not _is_int(value) or value < low or (high is not None and value > high):
        bound = f"an integer in [{low}, {high}]" if high is not None else f"an integer >= {low}"
        raise _fail(name, value, bound)
    return int(value)


def interval(name: str, value: Any, high: float | None = None) -> tuple[float, float]:
    """A (min, max) pair with 0 < min <= max (<= high when given)."""
    need = f"0 < min <= max <= {high}" if high is not None else "0 < min <= max"
    if not isinstance(value, Sequence) or len(value) != 2 or not all(map(_is_real, value)):
        raise _fail(name, value, f"a (min, max) pair with {need}")
    low_value, high_value = float(value[0]), float(value[1])
    if not 0 < low_value <= high_value or (high is not None and high_value > high):
        raise _fail(name, value, need)
    return low_value, high_value


def jitter(name: str, value: Any) -> tuple[float, float, float, float]:
    """(brightness, contrast, saturation, hue) strengths: all >= 0, hue <= 0.5 (a half turn)."""
    need = "(brightness, contrast, saturation, hue) >= 0 with hue <= 0.5"
    if not isinstance(value, Sequence) or len(value) != 4 or not all(map(_is_real, value)):
        raise _fail(name, value, need)
    strengths = tuple(float(v) for v in value)
    if min(strengths) < 0 or strengths[3] > 0.5:
        raise _fail(name, value, need)
    return strengths  # type: ignore[return-value]


def odd_kernel(name: str, value: Any) -> int:
    if not _is_int(value) or value < 1 or value % 2 == 0:
        raise _fail(name, value, "an odd integer >= 1")
    return int(value)
