"""Template rendering: a Jinja2 sandbox where every failure is a located diagnostic.

Each template string of the spec is compiled once and rendered for every task it makes, so a
sweep of 100,000 tasks costs 100,000 renders, not 100,000 compilations. Strings without any
Jinja2 markup skip Jinja2 entirely. The same mistake repeated by every task of a factory is
reported a bounded number of times per template field.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Template, TemplateSyntaxError, UndefinedError, meta
from jinja2.exceptions import SecurityError
from jinja2.runtime import new_context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from batchspec.diagnostics import Diagnostic, Severity
from batchspec.spec.document import JsonPath, LoadedSpec, format_json_path
from batchspec.spec.sandbox import MAX_RENDERED_LENGTH, make_environment
from batchspec.spec.watchdog import RenderWatchdog, TemplateTimeout

MAX_REPORTS_PER_FIELD = 20
"""Diagnostics kept per template field; the rest are counted in one summary line."""


_MEMORY_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]{4,}>")
_MISSING_ATTRIBUTE = re.compile(r"has no attribute '([^']+)'")
_MISSING_NAME = re.compile(r"^'([^']+)' is undefined")


def _bounded_output(chunks: Iterable[str]) -> str:
    """Join a render's output, refusing it once it passes MAX_RENDERED_LENGTH characters."""
    parts = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_RENDERED_LENGTH:
            raise SecurityError(f"the template's output passes {MAX_RENDERED_LENGTH:,} characters")
        parts.append(chunk)
    return "".join(parts)


def _hint(source: str, message: str, context: Mapping[str, Any]) -> str:
    """`; did you mean 'vars.num_words'?` for a misspelt name, when one is close enough."""
    name = _MISSING_NAME.match(message)
    if name is not None:
        visible = [k for k in context if k not in ("range", "dict", "cycler", "joiner")]
        close = difflib.get_close_matches(name.group(1), visible, n=1)
        return f"; did you mean {close[0]!r}?" if close else ""
    attribute = _MISSING_ATTRIBUTE.search(message)
    if attribute is None:
        return ""
    missing = attribute.group(1)
    # Which mapping was asked: the name written just before `.missing` in the template.
    for owner in re.findall(rf"([A-Za-z_][A-Za-z0-9_]*)\.{re.escape(missing)}\b", source):
        value = context.get(owner)
        if isinstance(value, Mapping):
            close = difflib.get_close_matches(missing, [str(k) for k in value], n=1)
            if close:
                return f"; did you mean '{owner}.{close[0]}'?"
    return ""


def _comment_hint(source: str) -> str:
    """Bash's `${#arr[@]}` opens a Jinja2 comment (`{#`); say how to keep it literal."""
    if "{#" not in source:
        return ""
    return (
        "; `{#` starts a Jinja2 comment, so bash's `${#name}` cannot be written bare: wrap the "
        "text in {% raw %}...{% endraw %}"
    )


def has_markup(source: str) -> bool:
    """Whether a string holds any Jinja2 markup (else it renders to itself)."""
    return "{{" in source or "{%" in source or "{#" in source


PER_TASK_NAMES = frozenset({"item", "index"})
"""Names that differ from task to task; a template using none of them renders the same for all."""


@dataclass(frozen=True, slots=True)
class Compiled:
    """One template field, compiled: `template` is None for plain text."""

    source: str
    where: JsonPath
    template: Template | None
    per_task: bool = False
    """Whether the value can differ between tasks (it names `item` or `index`)."""


_FAILED = object()


@dataclass
class Renderer:
    """Compiles and renders the templates of one spec, collecting diagnostics."""

    loaded: LoadedSpec
    env: ImmutableSandboxedEnvironment = field(default_factory=make_environment)
    problems: list[Diagnostic] = field(default_factory=list)
    _failures: Counter[JsonPath] = field(default_factory=Counter)
    _constants: dict[JsonPath, object] = field(default_factory=dict)
    watchdog: RenderWatchdog = field(default_factory=RenderWatchdog)

    def context(self, **values: Any) -> dict[str, Any]:
        """A render context: the sandbox's globals plus `values` (extend it with `item`...)."""
        return {**self.env.globals, **values}

    def compile(self, source: str, where: JsonPath) -> Compiled | None:
        """Compile a field once; a syntax error is recorded and gives None."""
        if not has_markup(source):
            return Compiled(source, where, None)
        try:
            parsed = self.env.parse(source)  # parsed once: compiled from its tree
            names = meta.find_undeclared_variables(parsed)
            template = self.env.from_string(parsed)
            return Compiled(source, where, template, per_task=bool(names & PER_TASK_NAMES))
        except TemplateSyntaxError as exc:
            line = f" (template line {exc.lineno})" if "\n" in source.strip() else ""
            self.report(where, f"template syntax error: {exc.message}{line}{_comment_hint(source)}")
        except Exception as exc:  # the compiler must never crash the run
            self.report(where, f"template cannot be compiled: {type(exc).__name__}: {exc}")
        return None

    def render(self, compiled: Compiled, context: Mapping[str, Any], what: str = "") -> str | None:
        """Render a compiled field in a context made by `context()`; None on failure (recorded).

        A field that does not depend on the task is rendered once and its value (or its
        failure, reported once) reused for every task.
        """
        template = compiled.template
        if template is None:
            return compiled.source
        if not compiled.per_task:
            known = self._constants.get(compiled.where)
            if known is None:
                value = self._render(compiled, template, context, "")
                self._constants[compiled.where] = _FAILED if value is None else value
                return value
            return None if known is _FAILED else str(known)
        return self._render(compiled, template, context, what)

    def _render(
        self, compiled: Compiled, template: Template, context: Mapping[str, Any], what: str
    ) -> str | None:
        watchdog = self.watchdog
        watchdog.where = compiled.where
        watchdog.sequence += 1
        watchdog.rendering = True
        try:
            # A shared context that already holds the globals skips copying them into a fresh
            # dict (and listing them) for every render: most of Template.render's cost for a
            # short template, times 100,000 tasks.
            values = context if isinstance(context, dict) else dict(context)
            ctx = new_context(self.env, template.name, template.blocks, values, shared=True)
            output = _bounded_output(template.root_render_func(ctx))
            address = _MEMORY_ADDRESS.search(output)
            if address is not None and address.group(0) not in compiled.source:
                # Whatever path an object took into the text (str(), %r, a filter), its
                # default repr names a memory address: a value no command line should hold.
                raise UndefinedError(
                    f"the value holds {address.group(0)!r}, the text of an object rather than "
                    "data (a function, a generator or a helper such as cycler or joiner)"
                )
            return output
        except UndefinedError as exc:
            detail = exc.message or "undefined"
            # Only worth working out for a message that will be shown.
            shown = self._failures[compiled.where] < MAX_REPORTS_PER_FIELD
            hint = _hint(compiled.source, detail, context) if shown else ""
            message = f"undefined template variable: {detail}{hint}"
        except TemplateTimeout:
            message = (
                f"the template is not allowed to do this (sandbox): {watchdog.render_message()}"
            )
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
        finally:
            watchdog.rendering = False
        self.fail(compiled.where, f"{what}{message}")
        return None

    def fail(self, where: JsonPath, message: str) -> None:
        """Record a per-task failure of a field, keeping at most MAX_REPORTS_PER_FIELD."""
        self._failures[where] += 1
        if self._failures[where] <= MAX_REPORTS_PER_FIELD:
            self.report(where, message)

    def report(self, where: JsonPath, message: str, severity: Severity = "error") -> None:
        """Record one located diagnostic (a warning does not make the spec invalid)."""
        line, col = self.loaded.locate(where)
        self.problems.append(
            Diagnostic(str(self.loaded.path), line, col, format_json_path(where), message, severity)
        )

    @property
    def errors(self) -> list[Diagnostic]:
        """The problems that make the spec invalid."""
        return [d for d in self.problems if d.severity == "error"]

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
