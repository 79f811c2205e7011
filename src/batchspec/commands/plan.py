"""`batchspec plan SPEC`: everything apply would create, upload and run, fully rendered.

Nothing here touches the cloud or imports the Azure SDKs. A spec with problems prints them as
`file:line:col: $.path: message` on stderr and exits 1; a usage error exits 2.
"""

from __future__ import annotations

import codecs
import io
import os
import sys
from pathlib import Path
from typing import TextIO

import click

from batchspec.commands.validate import parse_vars, without_secrets
from batchspec.diagnostics import Diagnostic
from batchspec.report import text_report


def _writes_unicode(stream: TextIO) -> bool:
    """Whether `stream` can encode every character (a UTF encoding)."""
    try:
        return codecs.lookup(stream.encoding or "ascii").name.startswith("utf")
    except (LookupError, AttributeError):
        return False


def _internal_error(path: Path, exc: Exception) -> list[Diagnostic]:
    message = f"internal error while planning this file ({type(exc).__name__}: {exc})"
    return [Diagnostic(str(path), 1, 1, "$", message)]


@click.command(name="plan")
@click.argument("spec", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", help="Override a var.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people; json: the same data as one JSON document.",
)
@click.pass_context
def command(ctx: click.Context, spec: Path, variables: tuple[str, ...], fmt: str) -> None:
    """Show the fully rendered plan of SPEC: containers, uploads, pool, job, tasks, downloads."""
    from batchspec.plan.build import load_plan
    from batchspec.plan.show import write_json, write_text

    overrides = parse_vars(variables)
    try:
        plan = load_plan(spec, overrides)
    except Exception as exc:  # no input may end in a traceback
        plan = _internal_error(spec, exc)
    if isinstance(plan, list):
        click.echo(text_report(sorted(map(without_secrets, plan))), nl=False, err=True)
        count = len(plan)
        click.echo(f"{spec}: {count} error{'s' if count != 1 else ''}; nothing planned", err=True)
        ctx.exit(1)
    if plan.warnings:
        click.echo(text_report(list(map(without_secrets, plan.warnings))), nl=False, err=True)
    out = sys.stdout
    unicode_out = _writes_unicode(out)
    if not unicode_out and isinstance(out, io.TextIOWrapper):
        # A console that cannot show every character (cp1252, PYTHONIOENCODING=ascii) gets
        # escapes rather than a UnicodeEncodeError halfway through the tasks.
        out.reconfigure(errors="backslashreplace")
    try:
        if fmt == "json":
            write_json(plan, out, ensure_ascii=not unicode_out)
        else:
            write_text(plan, out)
        out.flush()
    except BrokenPipeError:
        # `batchspec plan ... | head`: stop quietly with 1, as Python's docs advise (and as rich
        # does for the text format); pointing stdout at /dev/null keeps the final flush quiet.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        ctx.exit(1)
