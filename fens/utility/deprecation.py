"""Old spellings of public arguments that keep working for one release, with a warning.

>>> @deprecated_arguments(renamed={"neuron_ids": "neuron_indices"}, positional=("neuron_indices",))
... def generate_meis(model, *, neuron_indices, iterations=1000): ...

``generate_meis(model, [3, 5])`` and ``generate_meis(model, neuron_ids=[3, 5])`` still work and
issue a :class:`DeprecationWarning` that names the new spelling.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def deprecated_arguments(
    *, renamed: Mapping[str, str] | None = None, positional: Sequence[str] = ()
) -> Callable[[F], F]:
    """Accept a function's old argument names and its old positional arguments, with a warning.

    Args:
        renamed: ``{old_name: new_name}`` of keyword arguments that were renamed.
        positional: the (new) names of the arguments that the previous release took by
            position after the ones the function still takes by position, in that order;
            passed by position, they are handed on by keyword.

    Returns:
        A decorator. Passing an old name and its new name together raises ``TypeError``.
    """
    renamed = dict(renamed or {})

    def decorate(function: F) -> F:
        name = function.__qualname__
        code = function.__code__
        n_positional = code.co_argcount
        positional_names = code.co_varnames[:n_positional]

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if len(args) > n_positional:
                extra = args[n_positional:]
                if len(extra) > len(positional):
                    raise TypeError(
                        f"{name}() takes {n_positional} positional arguments but {len(args)} "
                        "were given"
                    )
                names = positional[: len(extra)]
                warnings.warn(
                    f"passing {', '.join(names)} to {name}() by position is deprecated; "
                    f"write {', '.join(f'{n}=...' for n in names)}",
                    DeprecationWarning,
                    stacklevel=2,
                )
                for arg_name, value in zip(names, extra, strict=True):
                    if arg_name in kwargs:
                        raise TypeError(f"{name}() got multiple values for argument {arg_name!r}")
                    kwargs[arg_name] = value
                args = args[:n_positional]
            for old, new in renamed.items():
                if old in kwargs:
                    given_by_position = new in positional_names[: len(args)]
                    if new in kwargs or given_by_position:
                        raise TypeError(f"{name}() got both {new}= and its old name {old}=")
                    warnings.warn(
                        f"{name}({old}=...) is deprecated; write {new}=...",
                        DeprecationWarning,
                        stacklevel=2,
                    )
                    kwargs[new] = kwargs.pop(old)
            return function(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
