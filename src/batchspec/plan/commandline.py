"""Command lines exactly as Batch receives them.

Batch runs a task's command line without a shell, so `$VAR`, pipes and `;` mean nothing unless
a shell is started explicitly. A `commands:` list is therefore wrapped as one bash invocation
that stops at the first failing command, including a failure inside a pipeline.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

from batchspec.diagnostics import Severity

BASH_PREAMBLE = "set -e; set -o pipefail"


def wrap_commands(commands: Sequence[str]) -> str:
    """`['a', 'b']` -> `/bin/bash -c 'set -e; set -o pipefail; a; b'`, quoted for a shell split."""
    script = "; ".join([BASH_PREAMBLE, *commands])
    # shlex.quote wraps in single quotes and writes an embedded ' as '"'"', so splitting the
    # line the way a POSIX shell (or Batch's Linux agent) does gives back `script` unchanged.
    return f"/bin/bash -c {shlex.quote(script)}"


def command_line(command: str | None, commands: Sequence[str] | None) -> str:
    """The Batch command line for exactly one of `command` (verbatim) or `commands` (wrapped)."""
    if command is not None:
        return command
    if commands is None:
        raise ValueError("a task needs `command` or `commands`")
    return wrap_commands(commands)


_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_WORD_BREAK = frozenset(" \t\n;&|()<>")
_OPERATORS = frozenset(";&|<>`")


_NAME_START = re.compile(r"[A-Za-z_{]")


def _expansion_at(text: str, i: int, previous: str) -> str | None:
    """The shell expansion starting at text[i] outside quotes, as the user wrote it, or None."""
    c = text[i]
    if c == "$" and _NAME_START.match(text, i + 1):
        m = re.match(r"\$(\{[^}]*\}?|[A-Za-z_][A-Za-z0-9_]*)", text[i:])
        return m.group(0) if m else "$"
    if c in "*?[":
        return c
    if c == "~" and (previous == "" or previous in " \t\n"):
        return "~"
    return None


def _scan(text: str) -> tuple[list[str], bool, str | None, str | None]:
    """Quoting contexts still open at the end of `text`, whether it ends in a comment, the
    first shell operator outside quotes and the first shell expansion (`$VAR`, `${VAR}`, a
    glob, `~`) outside quotes.

    A small model of bash's lexer: enough to see an unclosed quote and a `#` comment that runs
    to the end, without mistaking `$#`, `${#x}` or a quoted `#` for one.
    """
    stack: list[str] = []
    comment = False
    operator: str | None = None
    expansion: str | None = None
    i = 0
    previous = ""
    while i < len(text):
        c = text[i]
        top = stack[-1] if stack else ""
        at_top = operator is None and not stack and not comment
        if at_top and (c in _OPERATORS or text.startswith("$(", i)):
            operator = "$(" if c == "$" else c
        if expansion is None and not stack and not comment and c != "\\":
            expansion = _expansion_at(text, i, previous)
        if comment:
            comment = c != "\n"
        elif top == "'":
            if c == "'":
                stack.pop()
        elif c == "\\" and top != "'":
            i += 1  # the next character is escaped
        elif top == '"':
            if c == '"':
                stack.pop()
            elif text.startswith("$(", i):
                stack.append("$(")
                i += 1
            elif c == "`":
                stack.append("`")
        elif (c == "`" and top == "`") or (c == ")" and top == "$("):
            stack.pop()
        elif c in "'\"`":
            stack.append(c)
        elif text.startswith("$(", i):
            stack.append("$(")
            i += 1
        elif c == "#" and not stack and (previous == "" or previous in _WORD_BREAK):
            comment = True
        previous = text[i] if i < len(text) else ""
        i += 1
    return stack, comment, operator, expansion


def command_problem(source: str, *, joined: bool, last: bool) -> str | None:
    """What is wrong with a command template's shell syntax, or None.

    `joined`: the command is one of a `commands:` list, joined to the next one by `; `; else it
    is a `command:`, which Batch splits into arguments itself. Template placeholders are read as
    one plain word: `| quote` makes every value that.
    """
    text = _JINJA.sub("X", source)
    stack, comment, operator, expansion = _scan(text)
    if stack:
        opened = {"'": "a single quote", '"': "a double quote", "`": "a backquote"}
        what = opened.get(stack[-1], "a '$('")
        return f"the command has {what} that is never closed"
    if not joined and operator is not None:
        # Batch starts no shell for a command line (and expands no $VAR in it).
        return (
            f"Batch runs `command` without a shell, so {operator!r} would reach the program as "
            "a plain argument; use `commands:` (run by bash) or start a shell: "
            "/bin/bash -c '...'"
        )
    if not joined and expansion is not None:
        return (
            f"Batch runs `command` without a shell and expands nothing in it, so {expansion!r} "
            "would reach the program as literal text; use `commands:` (run by bash) or start a "
            "shell: /bin/bash -c '...'"
        )
    if not joined or last:
        return None
    if comment:
        return (
            "the command ends in a shell comment (#...), which would also comment out the "
            "commands after it in the bash line; remove the comment"
        )
    stripped = text.rstrip()
    for ending in ("&&", "||", "|", "&", ";", "\\"):
        if stripped.endswith(ending):
            return (
                f"the command ends with {ending!r}, which breaks the bash line it is joined into "
                "('; ' follows each command); remove it"
            )
    return None


_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_SAFE_FILTERS = frozenset({"quote", "int", "float", "length", "count"})
"""Filters whose result cannot change a command line's words: quoted, or a number."""
_SIMPLE = re.compile(r"[\w.]+")
_SAFE_NAMES = frozenset({"index"})
"""Names that always hold a number."""


def _outermost(expression: str) -> tuple[str | None, bool]:
    """The last filter applied to a placeholder's expression (None: no filter), and whether it
    is a bare safe name. Text that does not parse is left to the template compiler."""
    from jinja2 import nodes

    from batchspec.spec.sandbox import make_environment

    try:
        body = make_environment().parse("{{" + expression + "}}").body
    except Exception:
        return "quote", False  # a syntax error is reported by the compiler, once
    output = body[0] if body else None
    node = output.nodes[0] if isinstance(output, nodes.Output) and output.nodes else None
    if isinstance(node, nodes.Filter):
        return node.name, False
    return None, isinstance(node, nodes.Name) and node.name in _SAFE_NAMES


def quoting_problems(source: str) -> list[tuple[Severity, str]]:
    """(severity, message) for each placeholder of a command template that is not quoted safely.

    A value pasted into a command line as it is can inject words, `$(...)` or backquotes: a
    placeholder without `| quote` is a warning. `| quote` inside double quotes is an error: its
    single quotes are literal there, so `$(...)` in the value runs.
    """
    found: list[tuple[Severity, str]] = []
    for match in _PLACEHOLDER.finditer(source):
        expression = match.group(1).strip()
        last, safe_name = _outermost(match.group(1))
        stack, _, _, _ = _scan(_JINJA.sub("X", source[: match.start()]))
        inside = stack[-1] if stack else ""
        shown = "{{ " + expression + " }}"
        if last == "quote" and inside in ("'", '"'):
            kind = "double" if inside == '"' else "single"
            found.append(
                (
                    "error",
                    f"{shown} is quoted with `quote` inside {kind} quotes, where its quoting "
                    "does not hold (in double quotes `$(...)` in the value still runs); remove "
                    f"the {kind} quotes around it",
                )
            )
        elif last not in _SAFE_FILTERS and not safe_name:
            operand = expression if _SIMPLE.fullmatch(expression) else f"({expression})"
            found.append(
                (
                    "warning",
                    f"{shown} goes into the command line without `| quote` (a value with "
                    "spaces, quotes, `$(...)` or backquotes would change the command): write "
                    "{{ " + operand + " | quote }}, after `--` if a value may start with '-'",
                )
            )
    return found
