"""Reporters: diagnostics as text lines, as JSON, or as GitHub Actions annotations.

Each reporter turns the full, sorted list of diagnostics into the text to print, so the choice
of format (`--format`) is a lookup in `REPORTERS` and nothing else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence

from batchspec.diagnostics import Diagnostic

Reporter = Callable[[Sequence[Diagnostic]], str]

# Characters a message may quote from a spec that a terminal or a log viewer would act on
# rather than show: control characters (ESC sequences recolour or retitle a terminal, NUL cuts
# a line short), line and paragraph separators, and the bidirectional overrides that make text
# read in another order than it is.
_UNSHOWABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _one_line(text: str) -> str:
    # A file name or a key may hold a line break; one diagnostic must stay one line, and
    # what it quotes is shown, never acted on.
    return _UNSHOWABLE.sub(_escape, text)


_JSON_UNSHOWABLE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group(0)):04x}"


def _label(d: Diagnostic) -> str:
    return "warning: " if d.severity == "warning" else ""


def text_report(diagnostics: Sequence[Diagnostic]) -> str:
    """`path:LINE:COL: $.json.path: message`, one per line (`warning: message` for warnings)."""
    return "".join(
        f"{_one_line(d.file)}:{d.line}:{d.col}: {_one_line(d.path)}: "
        f"{_label(d)}{_one_line(d.message)}\n"
        for d in diagnostics
    )


def json_report(diagnostics: Sequence[Diagnostic]) -> str:
    """A JSON list of {file, line, col, path, message, severity} objects, in report order."""
    items = [
        {
            "file": d.file,
            "line": d.line,
            "col": d.col,
            "path": d.path,
            "message": d.message,
            "severity": d.severity,
        }
        for d in diagnostics
    ]
    # json.dumps escapes C0 controls itself; the others are escaped the same way (valid JSON).
    text = json.dumps(items, indent=2, ensure_ascii=False)
    return _JSON_UNSHOWABLE.sub(_json_escape, text) + "\n"


def _escape_data(text: str) -> str:
    # GitHub's workflow-command encoding: the message part escapes %, CR and LF; other
    # characters a log viewer would act on are shown as escapes, as in the text format.
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return _UNSHOWABLE.sub(_escape, text)


def _escape_property(text: str) -> str:
    # Property values additionally escape the separators ':' and ','.
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_report(diagnostics: Sequence[Diagnostic]) -> str:
    """`::error file=…,line=…,col=…::…` workflow commands (`::warning` for warnings), shown as
    annotations on the PR."""
    lines = []
    for d in diagnostics:
        where = f"file={_escape_property(d.file)},line={d.line},col={d.col}"
        title = _escape_property(f"batchspec {d.path}")
        text = _escape_data(f"{d.path}: {d.message}")
        lines.append(f"::{d.severity} {where},title={title}::{text}\n")
    return "".join(lines)


REPORTERS: dict[str, Reporter] = {
    "text": text_report,
    "json": json_report,
    "github": github_report,
}
