"""Load and plan a spec, the one way every command does it.

validate, plan and apply (and the verbs to come) share this: one `--var` parser, one guard that
turns any failure on any input into a located diagnostic instead of a traceback, one redaction
of what diagnostics quote, and one error (SpecError, exit 2) for a spec that cannot be planned.
Nothing here imports the Azure SDKs.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from batchspec.diagnostics import Diagnostic
from batchspec.errors import SpecError, UsageError

if TYPE_CHECKING:
    from batchspec.plan.listing import Listings
    from batchspec.plan.model import Plan, RunInfo
    from batchspec.spec.document import LoadedSpec

_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
STDIN = Path("-")
"""The argument `-`: one spec read from standard input, named `<stdin>` in messages."""


def parse_vars(pairs: Iterable[str]) -> dict[str, str]:
    """`["n=3", "label=a=b"]` -> `{"n": "3", "label": "a=b"}`; a bad pair is a usage error."""
    overrides: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not _VAR_NAME.fullmatch(name):
            raise UsageError(
                f"--var {_redacted(pair)!r}: expected NAME=VALUE, NAME a letter or underscore, "
                "then letters, digits or underscores"
            )
        overrides[name] = value
    return overrides


def load(path: Path) -> LoadedSpec | list[Diagnostic]:
    """One spec file (or standard input, for `-`) read into data with positions, or its YAML
    problems."""
    from batchspec.spec.load import load_spec, load_stdin

    try:
        return load_stdin() if path == STDIN else load_spec(path)
    except Exception as exc:  # no input may end in a traceback: report the file instead
        return internal_error(path, exc)


def check_loaded(
    path: Path, loaded: LoadedSpec | list[Diagnostic], overrides: Mapping[str, str]
) -> list[Diagnostic]:
    """Every problem of a spec `load` has read: the schema, then references and templates."""
    result = plan_loaded(path, loaded, overrides)
    return result if isinstance(result, list) else list(result.warnings)


def plan_loaded(
    path: Path,
    loaded: LoadedSpec | list[Diagnostic],
    overrides: Mapping[str, str],
    run: RunInfo | None = None,
    listings: Listings | None = None,
) -> Plan | list[Diagnostic]:
    """The Plan of a spec `load` has read, or its problems (redacted, sorted)."""
    from batchspec.plan.build import check_plan

    if isinstance(loaded, list):
        return sorted(map(without_secrets, loaded))
    try:
        # The schema, then every other check, under one CPU and memory budget.
        plan = check_plan(loaded, overrides, run, listings)
    except Exception as exc:  # no input may end in a traceback: report the file instead
        return internal_error(path, exc)
    if isinstance(plan, list):
        return sorted(map(without_secrets, plan))
    return dataclasses.replace(plan, warnings=tuple(map(without_secrets, plan.warnings)))


def plan_spec(
    path: Path,
    overrides: Mapping[str, str],
    run: RunInfo | None = None,
    *,
    outcome: str = "nothing planned",
    listings: Listings | None = None,
) -> Plan:
    """Load, check and plan one spec file; raise SpecProblems (exit 2) with every problem.

    `outcome` ends the summary line: what the command did not do because of the problems.
    `listings`: what the spec's `blobs:` factories found in storage (see plan.listing).
    """
    result = plan_loaded(path, load(path), overrides, run, listings)
    if isinstance(result, list):
        raise SpecProblems(path, result, outcome)
    return result


class SpecProblems(SpecError):
    """A spec with problems: printed as its located diagnostics, then one summary line."""

    def __init__(self, path: Path, diagnostics: Sequence[Diagnostic], outcome: str) -> None:
        count = len(diagnostics)
        super().__init__(f"{path}: {count} error{'s' if count != 1 else ''}; {outcome}")
        self.path = path
        self.diagnostics = tuple(diagnostics)

    def lines(self) -> list[str]:
        from batchspec.report import text_report

        return [*text_report(self.diagnostics).splitlines(), self.message]


def internal_error(path: Path, exc: Exception) -> list[Diagnostic]:
    """A located diagnostic for a failure that is batchspec's fault, not the spec's."""
    message = f"internal error while checking this file ({type(exc).__name__}: {exc})"
    return [without_secrets(Diagnostic(str(path), 1, 1, "$", message))]


def without_secrets(diagnostic: Diagnostic) -> Diagnostic:
    """`diagnostic` with any SAS signature or account key in its path or message redacted.

    Messages quote the values they complain about, and a value may be a signed URL.
    """
    return dataclasses.replace(
        diagnostic, path=_redacted(diagnostic.path), message=_redacted(diagnostic.message)
    )


def _redacted(text: str) -> str:
    from batchspec.redact import redact  # only once there is something to report

    return redact(text)
