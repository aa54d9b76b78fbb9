"""fens.utility.checks: what passes, what is refused, and that the message names and shows."""

import re

import numpy as np
import pytest

from fens.utility.checks import check_int, check_number


@pytest.mark.parametrize(
    ("value", "expected"), [(1, 1), (7, 7), (np.int64(3), 3), (np.uint8(2), 2), (10**20, 10**20)]
)
def test_check_int_returns_a_python_int(value, expected):
    result = check_int("n", value)
    assert result == expected and type(result) is int


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0, "0"), (-3, "-3"), (2.0, "2.0"), (True, "True"), ("4", "'4'"), (None, "None")],
)
def test_check_int_refuses_non_integers_and_small_ones(value, shown):
    with pytest.raises(
        ValueError, match=re.escape(f"batch_size must be a positive integer, got {shown}")
    ):
        check_int("batch_size", value)


def test_check_int_minimum_and_optional():
    assert check_int("seed", 0, minimum=0) == 0
    assert check_int("seed", None, minimum=0, optional=True) is None
    with pytest.raises(ValueError, match=re.escape("seed must be an integer >= 0, got -1")):
        check_int("seed", -1, minimum=0)
    with pytest.raises(ValueError, match=re.escape("n must be a positive integer or None, got 0")):
        check_int("n", 0, optional=True)
    with pytest.raises(ValueError, match=re.escape("k must be an integer >= 2 or None, got 1")):
        check_int("k", 1, minimum=2, optional=True)


@pytest.mark.parametrize(
    ("value", "expected"), [(1, 1.0), (0.5, 0.5), (np.float32(0.25), 0.25), (np.array(2.0), 2.0)]
)
def test_check_number_returns_a_float(value, expected):
    result = check_number("lr", value)
    assert result == expected and type(result) is float


@pytest.mark.parametrize(
    ("bounds", "value", "message"),
    [
        ({}, float("nan"), "lr must be a finite number, got nan"),
        ({}, float("inf"), "lr must be a finite number, got inf"),
        ({}, "0.1", "lr must be a finite number, got '0.1'"),
        ({}, True, "lr must be a finite number, got True"),
        ({}, None, "lr must be a finite number, got None"),
        ({}, [1.0], "lr must be a finite number, got [1.0]"),
        ({"minimum": 0, "exclusive_minimum": True}, 0.0, "lr must be a positive number, got 0.0"),
        ({"minimum": 0}, -1e-9, "lr must be a number >= 0, got -1e-09"),
        ({"minimum": 1, "exclusive_minimum": True}, 1, "lr must be a number > 1, got 1"),
        ({"maximum": 2}, 2.5, "lr must be a number <= 2, got 2.5"),
        ({"minimum": 0, "maximum": 1}, 1.5, "lr must be a number in [0, 1], got 1.5"),
        (
            {"minimum": 0, "maximum": 1, "exclusive_minimum": True},
            0,
            "lr must be a number in (0, 1], got 0",
        ),
        ({"optional": True}, float("nan"), "lr must be a finite number or None, got nan"),
    ],
)
def test_check_number_refuses_with_the_range_and_the_value(bounds, value, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        check_number("lr", value, **bounds)


def test_check_number_bounds_are_inclusive_unless_told():
    assert check_number("p", 0, minimum=0, maximum=1) == 0.0
    assert check_number("p", 1, minimum=0, maximum=1) == 1.0
    assert check_number("p", None, optional=True) is None
