"""`batchspec validate FILE...`: check specs without touching the cloud.

Every file is checked in full and every problem of every file is reported in one run, sorted.
Exit codes: 0 all valid, 1 some spec is invalid, 2 usage error (no files found, a bad `--var`,
an unknown format). Nothing here imports the Azure SDKs, so the command starts quickly in CI.
"""

from __future__ import annotations

import dataclasses
import glob
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from batchspec.diagnostics import Diagnostic

if TYPE_CHECKING:
    from batchspec.spec.document import LoadedSpec
from batchspec.report import REPORTERS

_SPEC_SUFFIXES = (".yaml", ".yml")
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def parse_vars(pairs: Iterable[str]) -> dict[str, str]:
    """`["n=3", "label=a=b"]` -> `{"n": "3", "label": "a=b"}`; a bad pair is a usage error."""
    overrides: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not _VAR_NAME.fullmatch(name):
            raise click.UsageError(
                f"--var {pair!r}: expected NAME=VALUE, NAME a letter or underscore, "
                "then letters, digits or underscores"
            )
        overrides[name] = value
    return overrides


def find_specs(arguments: Sequence[str]) -> tuple[list[Path], list[str]]:
    """Files, directories (searched for *.yaml / *.yml) and globs -> (spec paths, unmatched)."""
    found: dict[Path, None] = {}
    unmatched: list[str] = []
    for argument in arguments:
        paths = _expand(argument)
        if not paths:
            unmatched.append(argument)
        found.update(dict.fromkeys(paths))
    return list(found), unmatched


def _expand(argument: str) -> list[Path]:
    path = Path(argument)
    if path.is_dir():
        return _specs_under(path)
    if path.exists():
        return [path]
    if not glob.has_magic(argument):
        return []
    out: list[Path] = []
    for match in sorted(glob.glob(argument, recursive=True)):
        matched = Path(match)
        out.extend(_specs_under(matched) if matched.is_dir() else [matched])
    return out


def _specs_under(directory: Path) -> list[Path]:
    specs = []
    for candidate in directory.rglob("*"):
        hidden = any(part.startswith(".") for part in candidate.relative_to(directory).parts)
        if candidate.suffix in _SPEC_SUFFIXES and not hidden and candidate.is_file():
            specs.append(candidate)
    return sorted(specs)


def check_spec(path: Path, overrides: Mapping[str, str]) -> list[Diagnostic]:
    """All problems of one spec file: YAML, then the schema, then references and templates."""
    return check_loaded(path, load(path), overrides)


def load(path: Path) -> LoadedSpec | list[Diagnostic]:
    """One spec file read into data with positions, or its YAML problems."""
    from batchspec.spec.load import load_spec

    try:
        return load_spec(path)
    except Exception as exc:  # no input may end in a traceback: report the file instead
        return _internal_error(path, exc)


def check_loaded(
    path: Path, loaded: LoadedSpec | list[Diagnostic], overrides: Mapping[str, str]
) -> list[Diagnostic]:
    """The schema, then the references and templates, of a spec `load` has read."""
    from batchspec.plan.build import check_plan

    if isinstance(loaded, list):
        return loaded
    try:
        plan = check_plan(loaded, overrides)
        return plan if isinstance(plan, list) else list(plan.warnings)
    except Exception as exc:  # no input may end in a traceback: report the file instead
        return _internal_error(path, exc)


def _internal_error(path: Path, exc: Exception) -> list[Diagnostic]:
    message = f"internal error while checking this file ({type(exc).__name__}: {exc})"
    return [Diagnostic(str(path), 1, 1, "$", message)]


def var_names(loaded: LoadedSpec | list[Diagnostic]) -> frozenset[str]:
    """The names under a spec's `vars:` (none when the file could not be read)."""
    if isinstance(loaded, list):
        return frozenset()
    declared = loaded.data.get("vars")
    return frozenset(declared) if isinstance(declared, dict) else frozenset()


def overrides_for(
    overrides: Mapping[str, str], names: frozenset[str], anywhere: frozenset[str]
) -> dict[str, str]:
    """The `--var`s that apply to a spec whose variables are `names`.

    Checking a directory with `--var n=5` sets `n` in every spec that has it; the others are
    checked with their own defaults. A NAME that no spec checked has is still passed on, so
    each spec reports it (a misspelt name must not pass silently).
    """
    return {k: v for k, v in overrides.items() if k in names or k not in anywhere}


def without_secrets(diagnostic: Diagnostic) -> Diagnostic:
    """`diagnostic` with any SAS signature or account key in its path or message redacted.

    Messages quote the values they complain about, and a value may be a signed URL.
    """
    from batchspec.redact import redact  # only once there is something to report

    return dataclasses.replace(
        diagnostic, path=redact(diagnostic.path), message=redact(diagnostic.message)
    )


def _summary(files: int, problems: int, warnings: int = 0) -> str:
    checked = f"{files} file{'s' if files != 1 else ''} checked"
    errors = f"{problems} error{'s' if problems != 1 else ''}" if problems else "no errors"
    if warnings:
        return f"{checked}, {errors}, {warnings} warning{'s' if warnings != 1 else ''}"
    return f"{checked}, {errors}"


@click.command(name="validate")
@click.argument("files", nargs=-1, metavar="FILE...")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(REPORTERS)),
    default="text",
    show_default=True,
    help="text: path:LINE:COL: $.path: message; json: a list of objects; github: annotations.",
)
@click.option(
    "--var",
    "variables",
    multiple=True,
    metavar="NAME=VALUE",
    help="Override a var in every spec that has it; a NAME that no spec has is an error.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Treat warnings (e.g. a placeholder without | quote in a command) as errors.",
)
@click.pass_context
def command(
    ctx: click.Context, files: tuple[str, ...], fmt: str, variables: tuple[str, ...], strict: bool
) -> None:
    """Check spec files, directories of specs and globs: YAML, schema, references, templates.

    \b
    Exit status: 0 every spec is valid, 1 some spec is invalid, 2 usage error.
    """
    if not files:
        raise click.UsageError("give at least one spec file, directory or glob")
    overrides = parse_vars(variables)
    paths, unmatched = find_specs(files)
    if unmatched:
        raise click.UsageError("no spec files found for " + ", ".join(map(repr, unmatched)))
    # With --var, a first reading finds which specs have which variables; each file is read
    # again when it is checked, so only one spec is held in memory at a time. A pipe
    # (`<(...)`) can be read only once: what was read from it is kept.
    names: dict[Path, frozenset[str]] = {}
    kept: dict[Path, LoadedSpec | list[Diagnostic]] = {}
    for path in paths if overrides else ():
        loaded = load(path)
        names[path] = var_names(loaded)
        if not path.is_file():
            kept[path] = loaded
    anywhere = frozenset().union(*names.values())
    diagnostics: list[Diagnostic] = []
    for path in paths:
        mine = overrides_for(overrides, names.get(path, frozenset()), anywhere)
        spec = kept.pop(path) if path in kept else load(path)
        diagnostics.extend(map(without_secrets, check_loaded(path, spec, mine)))
    if strict:
        diagnostics = [dataclasses.replace(d, severity="error") for d in diagnostics]
    diagnostics.sort()
    click.echo(REPORTERS[fmt](diagnostics), nl=False)
    warnings = sum(d.severity == "warning" for d in diagnostics)
    click.echo(_summary(len(paths), len(diagnostics) - warnings, warnings), err=True)
    ctx.exit(1 if len(diagnostics) > warnings else 0)
