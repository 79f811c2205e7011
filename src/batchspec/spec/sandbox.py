"""The Jinja2 sandbox spec templates run in, with limits on what one render may allocate.

Jinja2's SandboxedEnvironment keeps templates away from Python internals and its immutable
variant from changing the context; neither bounds memory. These limits refuse, before the
allocation, the few operations that can build a huge string from a short template: repetition
(`'x' * 10**9`), padding to a width (`center`, `ljust`, `'%999999999s' % x`, `'{:>999999999}'`),
and enormous powers. The output of one render is capped too (a loop printing a long string),
and the watchdog in `batchspec.spec.watchdog` bounds CPU time.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterator
from typing import Any

from jinja2 import StrictUndefined, Undefined
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_RENDERED_LENGTH = 1_000_000
"""Most characters (or items) a template may build in one value or one render."""
MAX_EXPONENT = 1_000
_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})
_WIDTH_FILTERS = ("center", "indent", "wordwrap", "truncate")
_FORMAT_METHODS = frozenset({"format", "format_map"})
# A width or precision of seven digits or more in a %-format or a {}-format spec.
_HUGE_FORMAT_WIDTH = re.compile(r"%[^a-zA-Z%]*?\d{7,}|\{[^{}]*:[^{}]*\d{7,}[^{}]*\}")
# A width taken from the arguments: `%*s`, or `{:>{w}}`.
_ARGUMENT_WIDTH = re.compile(r"%[^a-zA-Z%]*?\*|\{[^{}]*:[^{}]*\{")


def quote(value: Any) -> str:
    """The `quote` filter: a value made safe to paste into a shell command line."""
    return shlex.quote(str(value))


def _refuse_big_numbers(what: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    for value in (*args, *kwargs.values()):
        number = isinstance(value, int) and not isinstance(value, bool)
        if number and abs(value) > MAX_RENDERED_LENGTH:
            raise SecurityError(
                f"{what} with {value} is refused (widths of at most {MAX_RENDERED_LENGTH:,})"
            )


def _refuse_huge_format(text: Any) -> None:
    if isinstance(text, str) and _HUGE_FORMAT_WIDTH.search(text):
        raise SecurityError(f"a format with a width of {MAX_RENDERED_LENGTH:,} or more is refused")


def _guarded_filter(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _refuse_big_numbers(f"the filter {name!r}", args[1:], kwargs)
        return original(*args, **kwargs)

    # Keep the markers Jinja2 reads (pass_context, pass_environment...) on the wrapper.
    guarded.__dict__.update(getattr(original, "__dict__", {}))
    return guarded


class SpecUndefined(StrictUndefined):
    """StrictUndefined that also fails when shown through a list or a mapping.

    StrictUndefined raises when printed, but `repr()` of it is "Undefined", so
    `{{ [vars.missing] }}` rendered as `[Undefined]` instead of reporting the missing name.
    """

    __slots__ = ()
    __repr__ = Undefined._fail_with_undefined_error


class Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, also refusing operations that would allocate or compute without bound."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"the exponent {right} is too large (at most {MAX_EXPONENT})")
        if operator == "%":
            _refuse_huge_format(left)
            if isinstance(left, str) and _ARGUMENT_WIDTH.search(left):
                values = right if isinstance(right, tuple) else (right,)
                _refuse_big_numbers("a %-format width", values, {})
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(times, int)
                    and len(seq) * times > MAX_RENDERED_LENGTH
                ):
                    raise SecurityError(
                        f"repeating a value {times} times would make more than "
                        f"{MAX_RENDERED_LENGTH:,} items"
                    )
        return super().call_binop(context, operator, left, right)

    def getattr(self, obj: Any, attribute: str) -> Any:
        # Spec data reach templates as dicts: `vars.keys` or `item.values` name an entry the
        # spec wrote, not the dict method of that name (whose repr holds a memory address).
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        name = getattr(__obj, "__name__", "")
        if name in _WIDTH_METHODS:
            _refuse_big_numbers(f"{name}()", args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        # Jinja2 replaces `'...'.format` with its own wrapper when the attribute is read, so
        # the format string is checked here rather than in `call`.
        if getattr(value, "__name__", "") not in _FORMAT_METHODS:
            return super().wrap_str_format(value)
        text = getattr(value, "__self__", None)
        _refuse_huge_format(text)
        wrapped = super().wrap_str_format(value)
        if wrapped is None or not (isinstance(text, str) and _ARGUMENT_WIDTH.search(text)):
            return wrapped
        inner = wrapped

        def checked(*args: Any, **kwargs: Any) -> str:
            _refuse_big_numbers("a {}-format width", args, kwargs)
            return inner(*args, **kwargs)

        return checked


_SHOWN_TYPES = (str, int, float, list, tuple, dict, Undefined, type(None))
"""What `{{ ... }}` may print: data, and Undefined (which fails when printed)."""


def _finalize(value: Any) -> Any:
    """Refuse to print anything but data, whose text would be nonsense in a command line.

    `{{ vars.keys }}` with no var named `keys` found the dict method and printed
    `<built-in method keys of dict object at 0x...>`; `{{ names | map('upper') }}` without
    `| list` prints `<generator object ... at 0x...>`.
    """
    if isinstance(value, _SHOWN_TYPES):
        return value
    name = getattr(value, "__name__", None)
    if callable(value) and isinstance(name, str):
        raise UndefinedError(
            f"{name!r} is a function or method, not a value: no such key, or a call's () is missing"
        )
    hint = " (add | list)" if isinstance(value, Iterator) else ""
    raise UndefinedError(f"a {type(value).__name__} is not a value that can be shown{hint}")


def make_environment() -> ImmutableSandboxedEnvironment:
    """The Jinja2 environment every spec template is compiled in."""
    env = Sandbox(
        undefined=SpecUndefined, autoescape=False, keep_trailing_newline=True, finalize=_finalize
    )
    env.filters["quote"] = quote
    for name in _WIDTH_FILTERS:
        env.filters[name] = _guarded_filter(name, env.filters[name])
    original_format = env.filters["format"]

    def guarded_format(value: Any, *args: Any, **kwargs: Any) -> Any:
        _refuse_huge_format(value)
        if isinstance(value, str) and _ARGUMENT_WIDTH.search(value):
            _refuse_big_numbers("a %-format width", args, kwargs)
        return original_format(value, *args, **kwargs)

    env.filters["format"] = guarded_format
    # The same spec and variables must always render the same plan: no random text.
    env.globals.pop("lipsum", None)
    return env
