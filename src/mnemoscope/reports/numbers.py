"""Numbers printed to the precision their interval supports.

An effect of +0.1234 whose interval over study seeds is [+0.05, +0.20] is known to about a
hundredth, not to a ten-thousandth: ``with_interval(0.1234, 0.05, 0.20)`` prints
``+0.12 [+0.05, +0.20]``. The rule: the interval's half-width rounded to one significant digit,
or to two when that digit is a 1 or a 2 (a half-width of 0.015 is not 0.02: rounding would move
it by a third; the Particle Data Group's rule, simplified), and the value and both bounds printed
to the same decimal place. An interval of no width (one study seed, or seeds that agree exactly)
says nothing about precision: the value gets ``SIGNIFICANT`` significant digits.
"""

from __future__ import annotations

import math

SIGNIFICANT = 3  # digits of a value without an interval


def decimals(low: float, high: float) -> int | None:
    """Decimal places that an interval ``[low, high]`` supports (module docstring; never fewer
    than 0); ``None`` when it has no finite, positive width."""
    half = (high - low) / 2
    if not math.isfinite(half) or half <= 0:
        return None
    mantissa, exponent = f"{half:.3e}".split("e")  # not log10: 0.3 / 0.1 is 2.9999...
    significant = 2 if float(mantissa) < 3 else 1
    return max(0, significant - 1 - int(exponent))


def number(value: float | None, places: int | None = None, *, sign: bool = True) -> str:
    """``value`` to ``places`` decimals, or to ``SIGNIFICANT`` significant digits when
    ``places`` is None; ``+`` on positive values when ``sign``; "-" for a missing value."""
    if value is None or not math.isfinite(value):
        return "-" if value is None or math.isnan(value) else str(value)
    plus = "+" if sign else ""
    if places is None:
        return f"{value:{plus}.{SIGNIFICANT}g}"
    text = f"{value:{plus}.{places}f}"
    if float(text) == 0:  # no "-0.00" or "+0.00" from rounding
        text = f"{0.0:.{places}f}"
    return text


def with_interval(value: float, low: float | None, high: float | None, *,
                  sign: bool = True) -> str:  # fmt: skip
    """``value [low, high]``, all to the decimals the interval supports (``decimals``); the
    value alone, to ``SIGNIFICANT`` digits, when there is no interval of positive width."""
    places = decimals(low, high) if low is not None and high is not None else None
    if places is None:
        return number(value, sign=sign)
    return (f"{number(value, places, sign=sign)} "
            f"[{number(low, places, sign=sign)}, {number(high, places, sign=sign)}]")  # fmt: skip
