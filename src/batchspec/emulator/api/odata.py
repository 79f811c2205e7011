"""The OData `$filter` subset the Batch list operations accept.

Supported: `prop eq|ne|gt|ge|lt|le literal`, nested properties as `executionInfo/result`,
`startswith(prop, 'x')`, `and`, `or`, `not`, parentheses. Literals: 'strings' ('' escapes a
quote), numbers, true/false, and datetime'...' timestamps (compared as instants, whatever their
precision or offset).
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections.abc import Callable
from typing import Any

from batchspec.emulator.service import errors
from batchspec.emulator.service.errors import BatchError
from batchspec.emulator.service.values import Doc

Predicate = Callable[[Doc], bool]

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<dt>datetime'[^']*')|(?P<num>-?\d+(?:\.\d+)?)"
    r"|(?P<punct>[(),])|(?P<word>[A-Za-z_][A-Za-z0-9_/.]*))"
)
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}


def _bad(text: str) -> BatchError:
    return errors.invalid_query_parameter("$filter", text)


def _timestamp(text: str) -> dt.datetime | None:
    """An ISO 8601 timestamp as an aware datetime (Batch writes seven fractional digits,
    which fromisoformat does not take); None if it is not one."""
    m = re.match(r"^(.*T\d\d:\d\d(?::\d\d)?)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$", text.strip())
    if not m:
        return None
    fraction = f".{(m.group(2) + '000000')[:6]}" if m.group(2) else ""
    zone = m.group(3) or "Z"
    zone = "+00:00" if zone == "Z" else zone
    try:
        stamp = dt.datetime.fromisoformat(m.group(1) + fraction + zone)
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def _lookup(doc: Doc, path: str) -> Any:
    value: Any = doc
    for part in path.split("/"):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, Any]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise _bad(text)
            pos = m.end()
            kind = m.lastgroup or ""
            raw = m.group(kind)
            if kind == "str":
                self.tokens.append(("lit", raw[1:-1].replace("''", "'")))
            elif kind == "dt":
                stamp = _timestamp(raw[9:-1])
                if stamp is None:
                    raise _bad(text)
                self.tokens.append(("lit", stamp))
            elif kind == "num":
                self.tokens.append(("lit", float(raw) if "." in raw else int(raw)))
            elif kind == "word" and raw in ("true", "false"):
                self.tokens.append(("lit", raw == "true"))
            else:
                self.tokens.append((kind, raw))
        self.i = 0

    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, Any]:
        tok = self.peek()
        if tok is None:
            raise _bad(self.text)
        self.i += 1
        return tok

    def expect(self, kind: str, value: str | None = None) -> Any:
        tok = self.take()
        if tok[0] != kind or (value is not None and tok[1] != value):
            raise _bad(self.text)
        return tok[1]

    def parse(self) -> Predicate:
        pred = self.expr()
        if self.peek() is not None:
            raise _bad(self.text)
        return pred

    def expr(self) -> Predicate:
        left = self.term()
        while self.peek() == ("word", "or"):
            self.take()
            right = self.term()
            left = (lambda a, b: lambda d: a(d) or b(d))(left, right)
        return left

    def term(self) -> Predicate:
        left = self.factor()
        while self.peek() == ("word", "and"):
            self.take()
            right = self.factor()
            left = (lambda a, b: lambda d: a(d) and b(d))(left, right)
        return left

    def factor(self) -> Predicate:
        tok = self.take()
        if tok == ("word", "not"):
            inner = self.factor()
            return lambda d: not inner(d)
        if tok == ("punct", "("):
            inner = self.expr()
            self.expect("punct", ")")
            return inner
        if tok == ("word", "startswith"):
            self.expect("punct", "(")
            path = self.expect("word")
            self.expect("punct", ",")
            prefix = self.expect("lit")
            self.expect("punct", ")")
            return lambda d: str(_lookup(d, path) or "").startswith(str(prefix))
        if tok[0] != "word":
            raise _bad(self.text)
        path = tok[1]
        op = self.expect("word")
        if op not in _OPS:
            raise _bad(self.text)
        literal = self.expect("lit")
        fn = _OPS[op]

        def compare(d: Doc) -> bool:
            value = _lookup(d, path)
            if isinstance(literal, dt.datetime) and isinstance(value, str):
                value = _timestamp(value)
            if value is None and op not in ("eq", "ne"):
                return False
            try:
                return bool(fn(value, literal))
            except TypeError:
                return False

        return compare


def compile_filter(text: str | None) -> Predicate:
    """Compile a `$filter` expression into a predicate over REST documents."""
    if not text or not text.strip():
        return lambda _d: True
    return _Parser(text).parse()
