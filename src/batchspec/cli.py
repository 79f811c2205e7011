"""The `batchspec` command line: a group whose subcommands are imported only when invoked.

Each subcommand lives in `batchspec.commands.<name>` as a click command named `command`.
Importing lazily keeps `batchspec validate` free of the Azure SDKs and quick to start.
"""

from __future__ import annotations

import importlib

import click

from batchspec import __version__

SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("batchspec.commands.validate", "Check specs: schema, references, templates."),
    "plan": ("batchspec.commands.plan", "Show everything apply would create, upload and run."),
    "apply": ("batchspec.commands.apply", "Run a spec on Azure Batch or the local target."),
    "logs": ("batchspec.commands.logs", "Show the output of a run's tasks (or --follow it)."),
    "runs": ("batchspec.commands.runs", "List the runs recorded in the data directory."),
    "status": ("batchspec.commands.status", "Show a run: pool, job, task counts, failures."),
    "local": ("batchspec.commands.local", "Manage the local target (Batch service + Azurite)."),
    "emulator": ("batchspec.commands.emulator", "Serve the local Azure Batch service."),
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

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Show help lines without importing every subcommand module.
        rows = [(name, SUBCOMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="batchspec")
def main() -> None:
    """Declarative YAML job specs for Azure Batch."""
