"""`batchspec plan SPEC`: everything apply would create, upload and run, fully rendered.

Nothing here touches the cloud or imports the Azure SDKs. A spec with problems prints them as
`file:line:col: $.path: message` on stderr and exits 2, as a malformed --var does.
"""

from __future__ import annotations

import codecs
import io
import os
import sys
from pathlib import Path
from typing import TextIO

import click

from batchspec.commands._load import parse_vars, plan_spec
from batchspec.errors import EXIT_CODES_HELP
from batchspec.plan.model import Plan
from batchspec.report import text_report


def _writes_unicode(stream: TextIO) -> bool:
    """Whether `stream` can encode every character (a UTF encoding)."""
    try:
        return codecs.lookup(stream.encoding or "ascii").name.startswith("utf")
    except (LookupError, AttributeError):
        return False


@click.command(name="plan", epilog=EXIT_CODES_HELP)
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
@click.option(
    "--target",
    type=click.Choice(["local", "azure"]),
    default=None,
    help="Whose last run to compare with (as apply picks it; no cloud is contacted).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="batchspec's data directory (default: $BATCHSPEC_HOME or ~/.batchspec).",
)
@click.option(
    "--refresh",
    is_flag=True,
    help="Hold the plan against the target: + create, ~ change, = unchanged, - clean-up deletes.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="With --refresh: exit 0 when apply has nothing to do, 2 when it has, 1 on any error.",
)
@click.pass_context
def command(
    ctx: click.Context,
    spec: Path,
    variables: tuple[str, ...],
    fmt: str,
    target: str | None,
    data_dir: Path | None,
    refresh: bool,
    detailed_exitcode: bool,
) -> None:
    """Show the fully rendered plan of SPEC: containers, uploads, pool, job, tasks, downloads.

    On stderr, one line says whether apply would continue the last run of SPEC or start a new
    one, and why (which uploaded files changed since that run).
    """
    from batchspec.plan.show import write_json, write_text

    if refresh or detailed_exitcode:
        from batchspec.live.drift import refreshed_plan

        ctx.exit(refreshed_plan(ctx, spec, variables, target, data_dir, fmt, detailed_exitcode))
    plan = plan_spec(spec, parse_vars(variables))
    if plan.warnings:
        click.echo(text_report(plan.warnings), nl=False, err=True)
    note = run_note(plan, target, data_dir)
    if note:
        click.echo(note, err=True)
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


def run_note(plan: Plan, target: str | None, data_dir: Path | None) -> str:
    """What apply would do with the journal's last run of this spec: continue it, or why not."""
    # The journal module needs no SDK; its lock (and fcntl) is imported only by apply.
    from batchspec.apply.journal import Journal, changes_since
    from batchspec.local import data_home
    from batchspec.targets import default_target_name

    name = target or default_target_name()
    state = Journal(data_home(data_dir), plan.spec_path, name).load()
    if plan.unlisted:
        # The listing is an input of the run: without it, no run can be named or compared.
        listed = ", ".join(listing.request.describe() for listing in plan.unlisted)
        last = "" if state is None else f" (the last run on {name} was {state.run_id})"
        return (
            f"run: decided when apply lists the blobs in {listed}{last}; "
            "`plan --refresh` lists them now"
        )
    if state is None:
        return f"run {plan.run.id}: a new run (no earlier run of this spec on {name})"
    if state.spec_digest == plan.spec_digest:
        done = f"finished, exit code {state.exit_code}" if state.finished else "not finished"
        return f"run {state.run_id}: the last run on {name}, unchanged ({done})"
    why = changes_since(state, plan.spec_digest, plan.inputs)
    return f"run {plan.run.id}: a new run; changed since run {state.run_id}: {why}"
