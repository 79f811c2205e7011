"""`batchspec runs`: every run the data directory's journals record, newest last.

It reads files only; no service is contacted (`batchspec status SPEC` asks Batch about one).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import click

from batchspec.live.context import DATA_DIR_OPTION, format_option

HELP_EPILOG = """\
\b
Exit codes:
  0    the runs were listed (none is not an error)
  2    an option is wrong
"""


@click.command(name="runs", epilog=HELP_EPILOG)
@click.option(
    "--target",
    type=click.Choice(["local", "azure"]),
    default=None,
    help="Only the runs on this target (default: every target).",
)
@DATA_DIR_OPTION
@format_option()
def command(target: str | None, data_dir: Path | None, fmt: str) -> None:
    """List the runs in the data directory: spec, target, run id, started, state, exit code.

    State is running (an apply is working on it), stopped (unfinished; apply continues it),
    succeeded, failed or interrupted.
    """
    from batchspec.live.runs import list_runs
    from batchspec.local import data_home

    home = data_home(data_dir)
    runs = list_runs(home, target)
    if fmt == "json":
        click.echo(json.dumps({"runs": [dataclasses.asdict(r) for r in runs]}, indent=2))
        return
    if not runs:
        click.echo(f"no runs in {home}", err=True)
        return
    rows = [("SPEC", "TARGET", "RUN", "STARTED", "STATE", "EXIT")]
    for r in runs:
        code = "" if r.exit_code is None else str(r.exit_code)
        rows.append((r.spec, r.target, r.run_id, r.started_at, r.state, code))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        click.echo("  ".join([*cells, row[-1]]).rstrip())
