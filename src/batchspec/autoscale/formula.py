"""Batch's autoscale formula language: checked offline by `validate`, evaluated by the local
service on its own counters.

A formula is `;`-separated statements `name = expression` (or bare expressions); names that
start with `$` are the service's variables. Supported: numbers, strings, `+ - * / %`,
comparisons, `&& || !`, `cond ? a : b`, parentheses, the functions avg, len, lg, ln, log, max,
min, norm, percentile, range, std, sum, val, time and rand, the TimeInterval_* constants, and
the sample methods GetSample, GetSamplePercent, GetSamplePeriod, Count and HistoryBeginTime.
The local service keeps no history: a sample variable holds its current value as its only
sample, and every sample is present (GetSamplePercent answers 100).

`check` parses a formula without evaluating it, so `validate` can point at the character where
it goes wrong: the same parser, with every value a stand-in.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Mapping
from typing import Any

OUTPUTS = ("$TargetDedicatedNodes", "$TargetLowPriorityNodes", "$NodeDeallocationOption")
_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)|(?P<str>\"[^\"]*\")"
    r"|(?P<name>\$?[A-Za-z_][A-Za-z0-9_]*)|(?P<op>==|!=|<=|>=|&&|\|\||[-+*/%()<>!?:;,=.]))"
)
_INTERVALS = {
    "TimeInterval_Zero": 0.0,
    "TimeInterval_100ns": 1e-7,
    "TimeInterval_Microsecond": 1e-6,
    "TimeInterval_Millisecond": 1e-3,
    "TimeInterval_Second": 1.0,
    "TimeInterval_Minute": 60.0,
    "TimeInterval_Hour": 3600.0,
    "TimeInterval_Day": 86400.0,
    "TimeInterval_Week": 604800.0,
}
_DEALLOCATION = ("requeue", "terminate", "taskcompletion", "retaineddata")
SERVICE_VARIABLES = frozenset(
    {
        *OUTPUTS,
        "$ActiveTasks",
        "$RunningTasks",
        "$PendingTasks",
        "$SucceededTasks",
        "$FailedTasks",
        "$TaskSlotsPerNode",
        "$CurrentDedicatedNodes",
        "$CurrentLowPriorityNodes",
        "$UsableNodeCount",
        "$PreemptedNodeCount",
        "$SampleNodeCount",
        "$CPUPercent",
        "$WallClockSeconds",
        "$MemoryBytes",
        "$DiskBytes",
        "$DiskReadBytes",
        "$DiskWriteBytes",
        "$DiskReadOps",
        "$DiskWriteOps",
        "$NetworkInBytes",
        "$NetworkOutBytes",
    }
)
"""The service-defined variables of Batch's formula language (Microsoft's "Create a formula to
automatically scale compute nodes in a Batch pool"): the ones a formula sets, then the ones it
reads."""
_METHODS = frozenset(
    {"GetSample", "GetSamplePercent", "GetSamplePeriod", "Count", "HistoryBeginTime"}
)


class FormulaError(ValueError):
    """A formula that does not parse or evaluate; the message says where."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset
        """Where in the formula's text it went wrong, when known."""


def _vector(value: Any) -> list[float]:
    if isinstance(value, list):
        return [float(v) for v in value]
    if isinstance(value, bool | int | float):
        return [float(value)]
    raise FormulaError(f"{value!r} is not a number")


def _number(value: Any) -> float:
    if isinstance(value, bool | int | float):
        return float(value)
    if isinstance(value, list) and len(value) == 1:
        return float(value[0])
    raise FormulaError(f"{value!r} is not a number")


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        raise FormulaError("percentile of no values")
    k = (len(ordered) - 1) * p / 100.0
    low, high = math.floor(k), math.ceil(k)
    return (
        ordered[int(k)]
        if low == high
        else ordered[low] + (ordered[high] - ordered[low]) * (k - low)
    )


def _std(v: list[float]) -> float:
    mean = sum(v) / len(v)
    return math.sqrt(sum((x - mean) ** 2 for x in v) / len(v))


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "avg": lambda *a: sum(v := [x for arg in a for x in _vector(arg)]) / len(v),
    "len": lambda *a: float(sum(len(_vector(arg)) for arg in a)),
    "lg": lambda x: math.log2(_number(x)),
    "ln": lambda x: math.log(_number(x)),
    "log": lambda x: math.log10(_number(x)),
    "max": lambda *a: max(x for arg in a for x in _vector(arg)),
    "min": lambda *a: min(x for arg in a for x in _vector(arg)),
    "norm": lambda *a: math.sqrt(sum(x * x for arg in a for x in _vector(arg))),
    "percentile": lambda v, p: _percentile(_vector(v), _number(p)),
    "range": lambda *a: max(v := [x for arg in a for x in _vector(arg)]) - min(v),
    "std": lambda *a: _std([x for arg in a for x in _vector(arg)]),
    "sum": lambda *a: sum(x for arg in a for x in _vector(arg)),
    "val": lambda v, i: _vector(v)[int(_number(i))],
    "rand": lambda: random.random(),
}


class _Parser:
    def __init__(
        self,
        text: str,
        env: dict[str, Any],
        samples: Mapping[str, float],
        checking: bool = False,
    ) -> None:
        self.tokens: list[tuple[str, str]] = []
        self.offsets: list[int] = []
        pos = 0
        while pos < len(text):
            if not text[pos:].strip():
                break
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                start = len(text[pos:]) - len(text[pos:].lstrip()) + pos
                raise FormulaError(f"unexpected text {text[start : start + 12]!r}", start)
            kind = m.lastgroup or ""
            self.tokens.append((kind, m.group(kind)))
            self.offsets.append(m.start(kind))
            pos = m.end()
        self.end = len(text.rstrip())
        self.i = 0
        self.env = env
        self.samples = samples
        self.checking = checking
        """Parse only: every value is a stand-in, nothing is computed."""

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def here(self) -> int:
        """The offset of the next token (the end of the text after the last)."""
        return self.offsets[self.i] if self.i < len(self.offsets) else self.end

    def fail(self, message: str, at: int | None = None) -> FormulaError:
        return FormulaError(message, self.here() if at is None else at)

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value):
            found = "the end of the formula" if tok is None else repr(tok[1])
            raise self.fail(f"expected {repr(value) if value else 'a value'}, found {found}")
        self.i += 1
        return tok

    def program(self) -> None:
        while self.peek() is not None:
            if self.peek() == ("op", ";"):
                self.take()
                continue
            nxt = self.tokens[self.i + 1] if self.i + 1 < len(self.tokens) else None
            if self.peek()[0] == "name" and nxt == ("op", "="):  # type: ignore[index]
                name = self.take()[1]
                self.take("=")
                self.env[name] = self.ternary()
            else:
                self.ternary()
            if self.peek() is not None:
                self.take(";")

    def ternary(self) -> Any:
        cond = self.binary(0)
        if self.peek() == ("op", "?"):
            self.take()
            yes = self.ternary()
            self.take(":")
            no = self.ternary()
            if self.checking:
                return 0.0
            return yes if _number(cond) else no
        return cond

    _LEVELS = (("||",), ("&&",), ("==", "!="), ("<", "<=", ">", ">="), ("+", "-"), ("*", "/", "%"))

    def binary(self, level: int) -> Any:
        if level == len(self._LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek() is not None and self.peek()[1] in self._LEVELS[level]:  # type: ignore[index]
            op = self.take()[1]
            right = self.binary(level + 1)
            left = 0.0 if self.checking else _apply(op, left, right)
        return left

    def unary(self) -> Any:
        if self.peek() in (("op", "-"), ("op", "!"), ("op", "+")):
            op = self.take()[1]
            value = self.unary()
            if self.checking:
                return 0.0
            if op == "-":
                return [-x for x in value] if isinstance(value, list) else -_number(value)
            return _number(value) if op == "+" else float(not _number(value))
        return self.postfix()

    def postfix(self) -> Any:
        value = self.primary()
        while self.peek() == ("op", "."):
            self.take()
            at = self.here()
            method = self.take()[1]
            if method not in _METHODS:
                raise self.fail(f"unknown method {method!r}", at)
            args = self.arguments()
            value = 0.0 if self.checking else _method(value, method, args)
        return value

    def arguments(self) -> list[Any]:
        self.take("(")
        args: list[Any] = []
        while self.peek() != ("op", ")"):
            if self.peek() is None:
                raise self.fail("expected ')' to close the call, found the end of the formula")
            args.append(self.ternary())
            if self.peek() == ("op", ","):
                self.take()
            elif (tok := self.peek()) is not None and tok != ("op", ")"):
                raise self.fail(f"expected ',' or ')', found {tok[1]!r}")
        self.take(")")
        return args

    def primary(self) -> Any:
        at = self.here()
        kind, text = self.take()
        if kind == "num":
            return float(text)
        if kind == "str":
            return text[1:-1]
        if text == "(":
            value = self.ternary()
            self.take(")")
            return value
        if kind != "name":
            raise self.fail(f"unexpected {text!r}", at)
        if self.peek() == ("op", "(") and not text.startswith("$"):
            if text == "time":
                self.arguments()
                return 0.0
            if text not in _FUNCTIONS:
                raise self.fail(f"unknown function {text!r}", at)
            args = self.arguments()
            return 0.0 if self.checking else _FUNCTIONS[text](*args)
        if text in _INTERVALS:
            return _INTERVALS[text]
        if text in _DEALLOCATION:
            return text
        if text in self.env:
            return self.env[text]
        if text in self.samples:
            return _Sample(self.samples[text])
        if self.checking and text in SERVICE_VARIABLES:
            return _Sample(0.0)
        raise self.fail(f"unknown variable {text!r}", at)


class _Sample(float):
    """A sample variable: its current value, with Batch's sample methods."""


def _method(value: Any, method: str, args: list[Any]) -> Any:
    if not isinstance(value, _Sample):
        raise FormulaError(f"{method} is a method of sample variables only")
    if method in ("GetSample", "GetSamplePeriod"):
        # No history here: whatever span or count is asked for, the current value is the one
        # sample there is.
        del args
        return [float(value)]
    if method == "GetSamplePercent":
        return 100.0
    if method == "Count":
        return 1.0
    if method == "HistoryBeginTime":
        return 0.0
    raise FormulaError(f"unknown method {method!r}")


def _apply(op: str, left: Any, right: Any) -> Any:
    if op == "+" and isinstance(left, str) and isinstance(right, str):
        return left + right
    if op in ("==", "!=") and (isinstance(left, str) or isinstance(right, str)):
        return float((left == right) == (op == "=="))
    a, b = _number(left), _number(right)
    if op in ("/", "%") and b == 0:
        raise FormulaError("division by zero")
    results = {
        "+": lambda: a + b,
        "-": lambda: a - b,
        "*": lambda: a * b,
        "/": lambda: a / b,
        "%": lambda: math.fmod(a, b),
        "==": lambda: float(a == b),
        "!=": lambda: float(a != b),
        "<": lambda: float(a < b),
        "<=": lambda: float(a <= b),
        ">": lambda: float(a > b),
        ">=": lambda: float(a >= b),
        "&&": lambda: float(bool(a) and bool(b)),
        "||": lambda: float(bool(a) or bool(b)),
    }
    return results[op]()


def evaluate(text: str, current: Mapping[str, Any], samples: Mapping[str, float]) -> dict[str, Any]:
    """Run a formula; return every variable it leaves (service outputs first)."""
    env: dict[str, Any] = dict(current)
    try:
        _Parser(text, env, samples).program()
    except FormulaError:
        raise
    except (ArithmeticError, IndexError, TypeError, ValueError) as exc:
        raise FormulaError(str(exc)) from None
    return env


def check(text: str) -> FormulaError | None:
    """Why `text` is not a formula Batch could evaluate (with the offset), or None.

    The syntax, and names: functions, sample methods, and variables, which must be the
    service's or set by an earlier statement.
    """
    if not text.strip():
        return FormulaError("the formula is empty", 0)
    try:
        _Parser(text, {}, {}, checking=True).program()
    except FormulaError as exc:
        return exc
    return None


def results(env: Mapping[str, Any]) -> str:
    """The `results` text of an AutoScaleRun: `$A=1;$B=0;...`, outputs first."""

    def show(v: Any) -> str:
        if isinstance(v, float):
            return str(int(v)) if v.is_integer() else repr(v)
        if isinstance(v, list):
            return "[" + ",".join(show(x) for x in v) + "]"
        return str(v)

    names = [n for n in OUTPUTS if n in env] + sorted(n for n in env if n not in OUTPUTS)
    return ";".join(f"{n}={show(env[n])}" for n in names)
