"""Checks of the arguments of public functions, with messages that name the argument and show
the value (``batch_size must be a positive integer, got 0``)."""

from __future__ import annotations

import math
import numbers


def check_int(name: str, value: object, *, minimum: int = 1, optional: bool = False) -> int | None:
    """``value`` as an ``int`` if it is an integer (not a bool) of at least ``minimum``.

    Args:
        name: the argument's name, for the message.
        value: what the caller passed.
        minimum: the smallest allowed value (1: "a positive integer").
        optional: whether ``None`` is allowed (and returned).

    Raises:
        ValueError: naming ``name`` and showing ``value``.
    """
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        wanted = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        if optional:
            wanted += " or None"
        raise ValueError(f"{name} must be {wanted}, got {value!r}")
    return int(value)


def check_number(
    name: str,
    value: object,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
    optional: bool = False,
) -> float | None:
    """``value`` as a ``float`` if it is a finite real number within the bounds.

    Args:
        name: the argument's name, for the message.
        value: what the caller passed (a Python or NumPy number, or a 0-d array).
        minimum, maximum: inclusive bounds (``None``: unbounded); ``exclusive_minimum=True``
            makes the lower one strict (``minimum=0, exclusive_minimum=True``: positive).
        optional: whether ``None`` is allowed (and returned).

    Raises:
        ValueError: naming ``name``, the allowed range and showing ``value``.
    """
    if value is None and optional:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
        ok = not isinstance(value, bool | str) and math.isfinite(number)
    except (TypeError, ValueError):
        ok = False
    if ok:
        ok = (
            minimum is None or (number > minimum if exclusive_minimum else number >= minimum)
        ) and (maximum is None or number <= maximum)
    if not ok:
        raise ValueError(
            f"{name} must be {_describe(minimum, maximum, exclusive_minimum, optional)}, got {value!r}"
        )
    return number


def _describe(
    minimum: float | None, maximum: float | None, exclusive_minimum: bool, optional: bool
) -> str:
    if minimum == 0 and exclusive_minimum and maximum is None:
        wanted = "a positive number"
    elif minimum is not None and maximum is not None:
        wanted = f"a number in {'(' if exclusive_minimum else '['}{minimum:g}, {maximum:g}]"
    elif minimum is not None:
        wanted = f"a number {'>' if exclusive_minimum else '>='} {minimum:g}"
    elif maximum is not None:
        wanted = f"a number <= {maximum:g}"
    else:
        wanted = "a finite number"
    return wanted + (" or None" if optional else "")
