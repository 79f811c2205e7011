"""How big a template value would print, found before it is printed, and what may be printed.

A short template can build a value that is small in memory and enormous as text: a list that
holds the same 100,000-item list nine times, nine times over, is a few kilobytes of references
and gigabytes once `tojson`, `join`, `~` or `{{ }}` turn it into a string, in one call that no
watchdog can interrupt. `printed_size` walks such a value with a cap, so it costs at most
`cap` steps however large the value would print, and refuses anything but data on the way:
text made from a function, a generator or any other object would hold a memory address.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from jinja2 import Undefined
from jinja2.exceptions import SecurityError, UndefinedError

DATA_TYPES = (str, int, float, list, tuple, dict, type(None))
"""What a template may print: data (and Undefined, which fails when printed)."""


def not_data(value: Any) -> UndefinedError:
    """The error for printing `value`, which is not data."""
    name = getattr(value, "__name__", None)
    if callable(value) and isinstance(name, str):
        return UndefinedError(
            f"{name!r} is a function or method, not a value: no such key, or a call's () is missing"
        )
    hint = " (add | list)" if isinstance(value, Iterator) else ""
    return UndefinedError(f"a {type(value).__name__} is not a value that can be shown{hint}")


def printed_size(value: Any, cap: int) -> int:
    """About how many characters `str(value)` (or its JSON) has; stops counting past `cap`.

    Raises UndefinedError for anything in `value` that is not data, and for Undefined.
    """
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item) + 2
        elif isinstance(item, bool) or item is None:
            total += 5
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 2
        elif isinstance(item, float):
            total += 24
        elif isinstance(item, list | tuple):
            total += 2 + len(item)
            stack.extend(item)
        elif isinstance(item, Mapping) and isinstance(item, dict):
            total += 2 + 2 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, Undefined):
            item._fail_with_undefined_error()
        else:
            raise not_data(item)
        if total > cap:
            return total
    return total


def refuse_if_larger(what: str, size: int, cap: int) -> None:
    """SecurityError naming `what` when `size` passes `cap` characters."""
    if size > cap:
        raise SecurityError(f"{what} would make more than {cap:,} characters")
