"""`batchspec validate FILE...`: check specs without touching the cloud.

Every file is checked in full and every problem of every file is reported in one run, sorted.
Exit codes: 0 all valid, 1 some spec is invalid, 2 usage error (no files found, a bad `--var`,
an unknown format). Nothing here imports the Azure SDKs, so the command starts quickly in CI.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import glob
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import click

from batchspec.commands._load import STDIN, check_loaded, load, parse_vars
from batchspec.diagnostics import Diagnostic

if TYPE_CHECKING:
    from batchspec.spec.document import LoadedSpec
from batchspec.report import REPORTERS

_SPEC_PATTERNS = ("*.yaml", "*.yml")


def find_specs(
    arguments: Sequence[str], include: Sequence[str] = (), exclude: Sequence[str] = ()
) -> tuple[list[Path], list[str]]:
    """Files, directories and globs -> (spec paths, arguments that name nothing).

    Directories are searched for `include` patterns (default *.yaml, *.yml); a file matching
    an `exclude` pattern is left out wherever it was found, and so is a file named or globbed
    that matches no `include` pattern, when some are given.
    """
    found: dict[Path, None] = {}
    unmatched: list[str] = []
    for argument in arguments:
        if argument == str(STDIN):
            found[STDIN] = None
            continue
        paths = _expand(argument, tuple(include) or _SPEC_PATTERNS)
        if not paths:
            unmatched.append(argument)
        found.update(dict.fromkeys(p for p in paths if _selected(p, include, exclude)))
    return list(found), unmatched


def matches(path: Path, patterns: Iterable[str]) -> bool:
    """Whether a glob matches the whole path (`specs/*.yaml`) or its end (`*.yaml`, `ci/*`)."""
    posix = PurePosixPath(path.as_posix())
    return any(fnmatch.fnmatchcase(str(posix), p) or posix.match(p) for p in patterns)


def _selected(path: Path, include: Sequence[str], exclude: Sequence[str]) -> bool:
    return (not include or matches(path, include)) and not matches(path, exclude)


def _expand(argument: str, patterns: Sequence[str]) -> list[Path]:
    path = Path(argument)
    if path.is_dir():
        return _specs_under(path, patterns)
    if path.exists():
        return [path]
    if not glob.has_magic(argument):
        return []
    out: list[Path] = []
    for match in sorted(glob.glob(argument, recursive=True)):
        matched = Path(match)
        out.extend(_specs_under(matched, patterns) if matched.is_dir() else [matched])
    return out


def _specs_under(directory: Path, patterns: Sequence[str]) -> list[Path]:
    specs = []
    for candidate in directory.rglob("*"):
        hidden = any(part.startswith(".") for part in candidate.relative_to(directory).parts)
        named = any(fnmatch.fnmatchcase(candidate.name, p) for p in patterns)
        if (named or matches(candidate, patterns)) and not hidden and candidate.is_file():
            specs.append(candidate)
    return sorted(specs)


def check_spec(path: Path, overrides: Mapping[str, str]) -> list[Diagnostic]:
    """All problems of one spec file: YAML, then the schema, then references and templates."""
    return check_loaded(path, load(path), overrides)


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
    "--include",
    multiple=True,
    metavar="GLOB",
    help="Check only files matching GLOB (repeatable); directories are searched for them. "
    "Default: *.yaml and *.yml.",
)
@click.option(
    "--exclude",
    multiple=True,
    metavar="GLOB",
    help="Skip files matching GLOB (repeatable), e.g. 'specs/data/*' or '*.lock.yaml'.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Treat warnings (e.g. a placeholder without | quote in a command) as errors.",
)
@click.pass_context
def command(
    ctx: click.Context,
    files: tuple[str, ...],
    fmt: str,
    variables: tuple[str, ...],
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    strict: bool,
) -> None:
    """Check spec files, directories of specs and globs: YAML, schema, references, templates.

    `-` reads one spec from standard input; its paths are relative to the current directory.
    A GLOB matches a whole path (specs/*.yaml) or its end (*.yaml, data/*).

    \b
    Exit status: 0 every spec is valid, 1 some spec is invalid, 2 usage error.
    """
    if not files:
        raise click.UsageError("give at least one spec file, directory or glob")
    overrides = parse_vars(variables)
    paths, unmatched = find_specs(files, include, exclude)
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
        diagnostics.extend(check_loaded(path, spec, mine))
    if strict:
        diagnostics = [dataclasses.replace(d, severity="error") for d in diagnostics]
    diagnostics.sort()
    click.echo(REPORTERS[fmt](diagnostics), nl=False)
    warnings = sum(d.severity == "warning" for d in diagnostics)
    click.echo(_summary(len(paths), len(diagnostics) - warnings, warnings), err=True)
    ctx.exit(1 if len(diagnostics) > warnings else 0)
