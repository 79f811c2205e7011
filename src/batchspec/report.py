"""Reporters: diagnostics as text lines, as JSON, or as GitHub Actions annotations.

Each reporter turns the full, sorted list of diagnostics into the text to print, so the choice
of format (`--format`) is a lookup in `REPORTERS` and nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from batchspec.diagnostics import Diagnostic

Reporter = Callable[[Sequence[Diagnostic]], str]


def _one_line(text: str) -> str:
    # A file name or a key may hold a line break; one diagnostic must stay one line.
    return text.replace("\r", "\\r").replace("\n", "\\n")


def text_report(diagnostics: Sequence[Diagnostic]) -> str:
    """`path:LINE:COL: $.json.path: message`, one per line."""
    return "".join(
        f"{_one_line(d.file)}:{d.line}:{d.col}: {_one_line(d.path)}: {_one_line(d.message)}\n"
        for d in diagnostics
    )


def json_report(diagnostics: Sequence[Diagnostic]) -> str:
    """A JSON list of {file, line, col, path, message} objects, in report order."""
    items = [
        {"file": d.file, "line": d.line, "col": d.col, "path": d.path, "message": d.message}
        for d in diagnostics
    ]
    return json.dumps(items, indent=2, ensure_ascii=False) + "\n"


def _escape_data(text: str) -> str:
    # GitHub's workflow-command encoding: the message part escapes %, CR and LF.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    # Property values additionally escape the separators ':' and ','.
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_report(diagnostics: Sequence[Diagnostic]) -> str:
    """`::error file=…,line=…,col=…::…` workflow commands, shown as annotations on the PR."""
    lines = []
    for d in diagnostics:
        where = f"file={_escape_property(d.file)},line={d.line},col={d.col}"
        title = _escape_property(f"batchspec {d.path}")
        lines.append(f"::error {where},title={title}::{_escape_data(f'{d.path}: {d.message}')}\n")
    return "".join(lines)


REPORTERS: dict[str, Reporter] = {
    "text": text_report,
    "json": json_report,
    "github": github_report,
}
