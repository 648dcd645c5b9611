"""Numbers printed to the precision their interval supports (``reports.numbers``)."""

import math

import pytest

from mnemoscope.reports.numbers import decimals, number, with_interval


@pytest.mark.parametrize(
    ("low", "high", "places"),
    [
        (0.05, 0.20, 2),  # half-width 0.075: one significant digit, 0.08
        (0.11, 0.14, 3),  # 0.015: its leading 1 keeps two digits, 0.015
        (-0.3, 0.3, 1),  # 0.3
        (0.0, 0.5, 2),  # 0.25: leading 2, two digits
        (-20.0, 44.0, 0),  # 32: no decimals, never negative places
        (1.0, 1.0, None),  # no width: nothing to say about precision
        (0.2, 0.1, None),
        (0.0, math.inf, None),
        (math.nan, 1.0, None),
    ],
)
def test_decimals_follow_the_half_width(low, high, places):
    assert decimals(low, high) == places


def test_value_and_bounds_share_the_intervals_decimals():
    assert with_interval(0.1234, 0.05, 0.20) == "+0.12 [+0.05, +0.20]"
    assert with_interval(0.1234, 0.11, 0.14) == "+0.123 [+0.110, +0.140]"
    assert with_interval(-0.01612, -0.02421, -0.00807) == "-0.016 [-0.024, -0.008]"
    assert with_interval(12.34, -20.0, 44.0) == "+12 [-20, +44]"
    assert with_interval(0.1234, 0.05, 0.20, sign=False) == "0.12 [0.05, 0.20]"


def test_without_a_width_the_value_gets_three_digits():
    assert with_interval(0.123456, 0.123456, 0.123456) == "+0.123"
    assert with_interval(0.123456, None, None) == "+0.123"
    assert with_interval(-1234.5, None, None) == "-1.23e+03"


def test_rounding_never_prints_a_signed_zero():
    assert with_interval(-0.0001, -0.3, 0.3) == "0.0 [-0.3, +0.3]"
    assert number(0.004, 2) == "0.00" and number(-0.004, 2) == "0.00"


def test_missing_and_infinite_values():
    assert number(None) == "-" and number(math.nan) == "-"
    assert number(math.inf) == "inf"
