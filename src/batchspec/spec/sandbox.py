"""The Jinja2 sandbox spec templates run in, with limits on what one render may allocate.

Jinja2's SandboxedEnvironment keeps templates away from Python internals and its immutable
variant from changing the context; neither bounds memory. These limits refuse, before the
allocation, the few operations that can build a huge string from a short template: repetition
(`'x' * 10**9`), padding to a width (`center`, `ljust`, `'%999999999s' % x`, `'{:>999999999}'`),
and enormous powers; and every operation that turns values into one string (`~`, `+`, `join`,
`tojson`, `replace`, `{{ }}` itself...) first measures what it would make (`batchspec.spec.sizes`).
The output of one render is capped too (a loop printing a long string), and the watchdog in
`batchspec.spec.watchdog` bounds CPU time and memory over the whole spec.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from typing import Any

from jinja2 import StrictUndefined, Undefined
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from jinja2.exceptions import SecurityError
from jinja2.nodes import Concat
from jinja2.sandbox import ImmutableSandboxedEnvironment

from batchspec.spec.sizes import DATA_TYPES, not_data, printed_size, refuse_if_larger

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


def _size(value: Any) -> int:
    return printed_size(value, MAX_RENDERED_LENGTH)


def _format_size(text: str, args: Any) -> int:
    """About the size of `text` formatted with `args`: each field may hold all of them."""
    fields = text.count("%") + text.count("{")
    return len(text) + fields * _size(args) if fields else len(text)


class _Generator(CodeGenerator):
    """Compiles `a ~ b` to a call the sandbox checks, instead of Jinja2's unchecked str_join."""

    @optimizeconst
    def visit_Concat(self, node: Concat, frame: Frame) -> None:
        self.write("environment.checked_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, also refusing operations that would allocate or compute without bound."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})
    code_generator_class = _Generator

    def checked_concat(self, values: tuple[Any, ...]) -> str:
        """`a ~ b ~ c`: the values as one string, measured first."""
        refuse_if_larger("joining these values with ~", _size(values), MAX_RENDERED_LENGTH)
        return "".join(map(str, values))

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"the exponent {right} is too large (at most {MAX_EXPONENT})")
        if operator == "%" and isinstance(left, str):
            _refuse_huge_format(left)
            if _ARGUMENT_WIDTH.search(left):
                values = right if isinstance(right, tuple) else (right,)
                _refuse_big_numbers("a %-format width", values, {})
            refuse_if_larger("the %-format", _format_size(left, right), MAX_RENDERED_LENGTH)
        if (
            operator == "+"
            and isinstance(left, str | list | tuple)
            and type(left) is type(right)
            and len(left) + len(right) > MAX_RENDERED_LENGTH
        ):
            raise SecurityError(
                f"adding these values would make more than {MAX_RENDERED_LENGTH:,} items"
            )
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(times, int)
                    and not isinstance(times, bool)
                    and (len(seq) * times > MAX_RENDERED_LENGTH or _size(seq) * times > _BIG)
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
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str) and name in _STRING_METHOD_SIZES:
            size = _STRING_METHOD_SIZES[name](owner, *args, **kwargs)
            refuse_if_larger(f"{name}()", size, MAX_RENDERED_LENGTH)
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        # Jinja2 replaces `'...'.format` with its own wrapper when the attribute is read, so
        # the format string is checked here rather than in `call`.
        if getattr(value, "__name__", "") not in _FORMAT_METHODS:
            return super().wrap_str_format(value)
        text = getattr(value, "__self__", None)
        _refuse_huge_format(text)
        wrapped = super().wrap_str_format(value)
        if wrapped is None or not isinstance(text, str):
            return wrapped
        inner = wrapped
        widths = bool(_ARGUMENT_WIDTH.search(text))

        def checked(*args: Any, **kwargs: Any) -> str:
            if widths:
                _refuse_big_numbers("a {}-format width", args, kwargs)
            size = _format_size(text, (*args, *kwargs.values()))
            refuse_if_larger("the {}-format", size, MAX_RENDERED_LENGTH)
            return inner(*args, **kwargs)

        return checked


def _finalize(value: Any) -> Any:
    """Refuse to print anything but data, whose text would be nonsense in a command line.

    `{{ vars.keys }}` with no var named `keys` found the dict method and printed
    `<built-in method keys of dict object at 0x...>`; `{{ names | map('upper') }}` without
    `| list` prints `<generator object ... at 0x...>`; `{{ [f] }}` hides a function in a list.
    """
    if isinstance(value, str | Undefined):
        return value
    if not isinstance(value, DATA_TYPES):
        raise not_data(value)
    refuse_if_larger("printing this value", _size(value), MAX_RENDERED_LENGTH)
    return value


def _str_replace(text: str, old: Any = "", new: Any = "", count: Any = -1) -> int:
    if not isinstance(old, str) or not isinstance(new, str):
        return len(text)
    hits = len(text) + 1 if not old else text.count(old)
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    return len(text) + hits * max(0, len(new) - len(old))


def _str_join(text: str, items: Any = (), *_: Any) -> int:
    if isinstance(items, list | tuple):
        return _size(items) + len(text) * len(items)
    return len(text)


def _str_translate(text: str, table: Any = None, *_: Any) -> int:
    if isinstance(table, dict):
        longest = max((len(v) for v in table.values() if isinstance(v, str)), default=1)
        return len(text) * max(longest, 1)
    return len(text)


def _str_expandtabs(text: str, tabsize: Any = 8, *_: Any) -> int:
    width = tabsize if isinstance(tabsize, int) else 8
    return len(text) + text.count("\t") * max(width, 0)


_STRING_METHOD_SIZES: dict[str, Callable[..., int]] = {
    "replace": _str_replace,
    "join": lambda text, items=(), *_: _str_join(text, items),
    "translate": _str_translate,
    "expandtabs": _str_expandtabs,
}
"""String methods whose result can be far longer than their inputs, and its size."""

_BIG = 4 * MAX_RENDERED_LENGTH
"""Printed size past which a repeated list is refused (it could never be printed)."""


def _filter_sizes() -> dict[str, Callable[..., int]]:
    """Filters that can build a long string from short inputs -> the size they would make."""

    def joined(value: Any, d: Any = "", attribute: Any = None) -> int:
        items = list(value) if isinstance(value, list | tuple) else [value]
        sep = len(d) if isinstance(d, str) else 0
        return _size(items) + sep * len(items)

    def indented(value: Any, width: Any = 4, *_: Any, **__: Any) -> int:
        text = str(value) if isinstance(value, str) else ""
        pad = len(width) if isinstance(width, str) else width if isinstance(width, int) else 4
        return len(text) + (text.count("\n") + 1) * max(pad, 0)

    def wrapped(value: Any, width: Any = 79, _long: Any = True, wrapstring: Any = None) -> int:
        text = value if isinstance(value, str) else ""
        every = width if isinstance(width, int) and width > 0 else 1
        glue = len(wrapstring) if isinstance(wrapstring, str) else 1
        return len(text) + (len(text) // every + 1) * glue

    def summed(value: Any, attribute: Any = None, start: Any = 0) -> int:
        if not isinstance(value, list | tuple):
            return 0
        return sum(len(v) for v in value if isinstance(v, str | list | tuple))

    return {
        "join": joined,
        "tojson": lambda value, *_, **__: _size(value),
        "pprint": lambda value, *_, **__: _size(value),
        "string": lambda value, *_, **__: _size(value),
        "list": lambda value, *_, **__: len(value) if isinstance(value, str) else 0,
        "replace": lambda value, *a, **k: (
            _str_replace(str(value), *a, **k) if isinstance(value, str) else 0
        ),
        "indent": indented,
        "wordwrap": wrapped,
        "sum": summed,
        "format": lambda value, *a, **k: (
            _format_size(value, (*a, *k.values())) if isinstance(value, str) else 0
        ),
    }


def _sized_filter(
    name: str, original: Callable[..., Any], size: Callable[..., int]
) -> Callable[..., Any]:
    # Filters marked pass_context / pass_eval_context / pass_environment get that first.
    passes = getattr(original, "jinja_pass_arg", None) is not None

    def measured(*args: Any, **kwargs: Any) -> Any:
        value_args = args[1:] if passes else args
        if value_args:
            refuse_if_larger(
                f"the filter {name!r}", size(*value_args, **kwargs), MAX_RENDERED_LENGTH
            )
        return original(*args, **kwargs)

    measured.__dict__.update(getattr(original, "__dict__", {}))
    return measured


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
    for name, size in _filter_sizes().items():
        env.filters[name] = _sized_filter(name, env.filters[name], size)
    # The same spec and variables must always render the same plan: no random text.
    env.globals.pop("lipsum", None)
    return env
