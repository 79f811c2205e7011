"""`batchspec destroy SPEC`: delete what runs of SPEC created, after showing the list.

Ownership comes from the journal and the ownership marks only (`batchspec.live.teardown`):
what was found existing is never deleted. It asks first on a terminal (`--yes` skips that),
`--dry-run` only lists, and it can be stopped and run again: each deletion is journaled.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from batchspec.errors import EXIT_INTERRUPTED, EXIT_OK
from batchspec.live.context import (
    DATA_DIR_OPTION,
    SPEC_ARGUMENT,
    TARGET_OPTION,
    VAR_OPTION,
    LiveError,
    RunContext,
    clients,
    format_option,
    guarded,
    open_run,
)

if TYPE_CHECKING:
    from azure.batch import BatchClient
    from azure.storage.blob import BlobServiceClient

    from batchspec.live.teardown import Item

HELP_EPILOG = """\
\b
Exit codes:
  0    done: what runs of SPEC created is deleted (or there was nothing), or --dry-run
  1    something could not be deleted (the output says what is left), or a service failed
  2    the spec, a --var or the target configuration is wrong; nothing was deleted
  130  interrupted: run destroy again to continue
"""


@click.command(name="destroy", epilog=HELP_EPILOG)
@SPEC_ARGUMENT
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--dry-run", is_flag=True, help="List what would be deleted and kept; delete nothing."
)
@TARGET_OPTION
@VAR_OPTION
@DATA_DIR_OPTION
@format_option()
@click.pass_context
def command(
    ctx: click.Context,
    spec: Path,
    yes: bool,
    dry_run: bool,
    target: str | None,
    variables: tuple[str, ...],
    data_dir: Path | None,
    fmt: str,
) -> None:
    """Delete the jobs, pool and containers that runs of SPEC created; keep everything else.

    It lists each resource with what it will do and why, then asks (only on a terminal).
    """
    from batchspec.live import teardown

    with guarded(ctx):
        run = open_run(spec, variables, target, data_dir, need_run=False)
        with run.journal.locked(), clients(run.target) as (batch, blobs):
            items = teardown.survey(batch, blobs, run.plan, run.state, run.journal.owner)
            doomed = [i for i in items if i.delete]
            _show(items, fmt, dry_run, f"{run.plan.name} on {run.target.name}")
            if dry_run:
                ctx.exit(EXIT_OK)
            if not doomed:
                teardown.forget(run.journal)
                click.echo("nothing to delete", err=True)
                ctx.exit(EXIT_OK)
            if (
                not yes
                and _terminal()
                and not click.confirm(
                    f"Delete these {len(doomed)} on {run.target.describe()}?", default=False
                )
            ):
                click.echo("nothing deleted", err=True)
                ctx.exit(EXIT_OK)
            code = _delete(run, batch, blobs, doomed, fmt)
            if code == EXIT_OK:
                kept = len(items) - len(doomed)
                _say(fmt, f"destroyed: {len(doomed)} deleted, {kept} kept")
            ctx.exit(code)


def _delete(
    run: RunContext,
    batch: BatchClient,
    blobs: BlobServiceClient,
    doomed: list[Item],
    fmt: str,
) -> int:
    from batchspec.live import teardown
    from batchspec.redact import describe_error

    left = []
    for item in doomed:
        try:
            teardown.delete(batch, blobs, item, lambda s: _say(fmt, s))
        except KeyboardInterrupt:
            click.echo("error: interrupted; run destroy again to continue", err=True)
            return EXIT_INTERRUPTED
        except Exception as exc:  # the others are still tried; the end says what is left
            left.append(f"{item.kind} {item.name} ({describe_error(exc)})")
            continue
        teardown.forget_item(run.journal, item)
    if left:
        raise LiveError("could not delete: " + "; ".join(left) + "; run destroy again")
    teardown.forget(run.journal)
    return EXIT_OK


def _show(items: list[Item], fmt: str, dry_run: bool, what: str) -> None:
    if fmt == "json":
        listing = {"items": [dataclasses.asdict(i) for i in items], "dry_run": dry_run}
        click.echo(json.dumps(listing, indent=2))
        return
    for item in items:
        click.echo(str(item))
    if not items:
        click.echo(f"nothing of {what} exists")


def _say(fmt: str, line: str) -> None:
    # With --format json, stdout holds the one JSON document; progress goes to stderr.
    click.echo(line, err=fmt == "json")


def _terminal() -> bool:
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (ValueError, OSError, AttributeError):
        return False
