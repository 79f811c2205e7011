"""`batchspec schema`: the spec's JSON Schema as installed, for editors and other tools.

A pip user has no checkout to point an editor at: `batchspec schema --path` names the file
inside the installed package, and `batchspec schema > batchspec.schema.json` copies it.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import click

SCHEMA_FILE = "schema/batchspec.schema.json"


def schema_path() -> Path:
    """Where the installed package keeps the schema file."""
    return Path(str(resources.files("batchspec").joinpath(SCHEMA_FILE)))


@click.command(name="schema")
@click.option("--path", "show_path", is_flag=True, help="Print where the schema file is instead.")
def command(show_path: bool) -> None:
    """Print the JSON Schema of a spec (draft 2020-12), as batchspec validate uses it.

    \b
    Point an editor at it with a modeline on a spec's first line:
      # yaml-language-server: $schema=<the path --path prints>
    """
    if show_path:
        click.echo(str(schema_path()))
        return
    text = resources.files("batchspec").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    click.echo(text, nl=not text.endswith("\n"))
