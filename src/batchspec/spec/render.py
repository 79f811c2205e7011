"""Template rendering: a Jinja2 sandbox where every failure is a located diagnostic.

Each template string of the spec is compiled once and rendered for every task it makes, so a
sweep of 100,000 tasks costs 100,000 renders, not 100,000 compilations. Strings without any
Jinja2 markup skip Jinja2 entirely. The same mistake repeated by every task of a factory is
reported a bounded number of times per template field.
"""

from __future__ import annotations

import shlex
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from batchspec.diagnostics import Diagnostic
from batchspec.spec.document import JsonPath, LoadedSpec, format_json_path

MAX_REPORTS_PER_FIELD = 20
"""Diagnostics kept per template field; the rest are counted in one summary line."""
MAX_RENDERED_LENGTH = 1_000_000
"""A string or list a template may build with `*`; larger ones are refused, not allocated."""
MAX_EXPONENT = 1_000


def quote(value: Any) -> str:
    """The `quote` filter: a value made safe to paste into a shell command line."""
    return shlex.quote(str(value))


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, also refusing arithmetic that would allocate or compute without bound."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"the exponent {right} is too large (at most {MAX_EXPONENT})")
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


def make_environment() -> ImmutableSandboxedEnvironment:
    """The Jinja2 environment every spec template is compiled in."""
    env = _Sandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    env.filters["quote"] = quote
    # The same spec and variables must always render the same plan: no random text.
    env.globals.pop("lipsum", None)
    return env


def has_markup(source: str) -> bool:
    """Whether a string holds any Jinja2 markup (else it renders to itself)."""
    return "{{" in source or "{%" in source or "{#" in source


@dataclass(frozen=True, slots=True)
class Compiled:
    """One template field, compiled: `template` is None for plain text."""

    source: str
    where: JsonPath
    template: Template | None


@dataclass
class Renderer:
    """Compiles and renders the templates of one spec, collecting diagnostics."""

    loaded: LoadedSpec
    env: ImmutableSandboxedEnvironment = field(default_factory=make_environment)
    problems: list[Diagnostic] = field(default_factory=list)
    _failures: Counter[JsonPath] = field(default_factory=Counter)

    def compile(self, source: str, where: JsonPath) -> Compiled | None:
        """Compile a field once; a syntax error is recorded and gives None."""
        if not has_markup(source):
            return Compiled(source, where, None)
        try:
            return Compiled(source, where, self.env.from_string(source))
        except TemplateSyntaxError as exc:
            line = f" (template line {exc.lineno})" if "\n" in source.strip() else ""
            self.report(where, f"template syntax error: {exc.message}{line}")
        except Exception as exc:  # the compiler must never crash the run
            self.report(where, f"template cannot be compiled: {type(exc).__name__}: {exc}")
        return None

    def render(self, compiled: Compiled, context: Mapping[str, Any], what: str = "") -> str | None:
        """Render a compiled field; any failure is recorded (bounded per field) and gives None."""
        if compiled.template is None:
            return compiled.source
        try:
            return compiled.template.render(context)
        except UndefinedError as exc:
            message = f"undefined template variable: {exc.message}"
        except SecurityError as exc:
            message = f"the template is not allowed to do this (sandbox): {exc}"
        except OverflowError as exc:  # e.g. the sandbox's cap on range()
            message = f"the template is not allowed to do this (sandbox): {exc}"
        except RecursionError:
            message = "the template recurses too deeply"
        except MemoryError:
            message = "the template needs too much memory"
        except Exception as exc:  # any other error raised by template code
            message = f"the template failed: {type(exc).__name__}: {exc}"
        self.fail(compiled.where, f"{what}{message}")
        return None

    def fail(self, where: JsonPath, message: str) -> None:
        """Record a per-task failure of a field, keeping at most MAX_REPORTS_PER_FIELD."""
        self._failures[where] += 1
        if self._failures[where] <= MAX_REPORTS_PER_FIELD:
            self.report(where, message)

    def report(self, where: JsonPath, message: str) -> None:
        """Record one located diagnostic."""
        line, col = self.loaded.locate(where)
        self.problems.append(
            Diagnostic(str(self.loaded.path), line, col, format_json_path(where), message)
        )

    def summarize(self) -> None:
        """Add one line per field whose failures were cut short."""
        for where, count in self._failures.items():
            if count > MAX_REPORTS_PER_FIELD:
                hidden = count - MAX_REPORTS_PER_FIELD
                self.report(
                    where,
                    f"tasks: {hidden:,} more fail in this field "
                    f"(only the first {MAX_REPORTS_PER_FIELD} are shown)",
                )
