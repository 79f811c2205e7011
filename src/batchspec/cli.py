"""The `batchspec` command line: a group whose subcommands are imported only when invoked.

Each subcommand lives in `batchspec.commands.<name>` as a click command named `command`.
Importing lazily keeps `batchspec validate` free of the Azure SDKs and quick to start.
"""

from __future__ import annotations

import importlib
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

import click

from batchspec import __version__
from batchspec.errors import EXIT_FAILED, BatchspecError

SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("batchspec.commands.validate", "Check specs: schema, references, templates."),
    "plan": ("batchspec.commands.plan", "Show everything apply would create, upload and run."),
    "apply": ("batchspec.commands.apply", "Run a spec on Azure Batch or the local target."),
    "logs": ("batchspec.commands.logs", "Show the output of a run's tasks (or --follow it)."),
    "runs": ("batchspec.commands.runs", "List the runs recorded in the data directory."),
    "status": ("batchspec.commands.status", "Show a run: pool, job, task counts, failures."),
    "local": ("batchspec.commands.local", "Manage the local target (Batch service + Azurite)."),
    "destroy": ("batchspec.commands.destroy", "Delete what runs of a spec created, nothing else."),
    "emulator": ("batchspec.commands.emulator", "Serve the local Azure Batch service."),
    "schema": ("batchspec.commands.schema", "Print the spec's JSON Schema (or its --path)."),
}


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module the first time it is needed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = SUBCOMMANDS.get(cmd_name)
        if entry is None:
            return None
        module = importlib.import_module(entry[0])
        command: click.Command = module.command
        return command

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand; map a BatchspecError to its message and exit code, once."""
        try:
            return super().invoke(ctx)
        except BatchspecError as exc:
            from batchspec.redact import redact

            for line in exc.lines():
                click.echo(redact(line), err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            raise
        except Exception:
            where = _write_traceback()
            _say_error(f"internal error: this is a bug in batchspec; the traceback is in {where}")
            ctx.exit(EXIT_FAILED)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Show help lines without importing every subcommand module.
        rows = [(name, SUBCOMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="batchspec")
def main() -> None:
    """Declarative YAML job specs for Azure Batch."""


def _say_error(message: str) -> None:
    from batchspec.redact import redact

    click.echo(f"error: {redact(message)}", err=True)


def _write_traceback() -> Path:
    """The current exception's traceback, redacted, in the data directory's log folder."""
    from batchspec.local import data_home
    from batchspec.redact import redact

    text = redact(traceback.format_exc())
    for folder in (data_home(None) / "logs", Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / "batchspec-internal-error.log"
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            continue
    sys.stderr.write(text)
    return Path("<stderr>")
