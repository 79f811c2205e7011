"""`batchspec emulator`: serve the local Azure Batch service in the foreground."""

from __future__ import annotations

import base64
import binascii
import sqlite3
from pathlib import Path

import click

from batchspec.emulator.api.auth import DEFAULT_ACCOUNT, DEFAULT_KEY


def _check_key(key: str) -> str:
    try:
        base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raise click.BadParameter("the key must be base64, like a Batch account key") from None
    return key


@click.command("emulator")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port on 127.0.0.1 (0 picks a free one).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where state (SQLite) and node directories live. "
    "Default: $BATCHSPEC_HOME/emulator, else ~/.batchspec/emulator.",
)
@click.option("--account", default=DEFAULT_ACCOUNT, show_default=True, help="Batch account name.")
@click.option(
    "--key", default=None, help="Base64 account key (default: the documented development key)."
)
@click.option(
    "--ready-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help='Once listening, write {"endpoint", "account", "pid"} here as JSON.',
)
@click.option(
    "--clock",
    "clock_text",
    envvar="BATCHSPEC_EMULATOR_CLOCK",
    default="off",
    show_default=True,
    help="Azure-like times for allocation, boot and StartTask: off, azure, azure:FACTOR "
    "(e.g. azure:0.01) or allocation=S,creating=S,starting=S,start_task=S.",
)
def command(
    port: int,
    data_dir: Path | None,
    account: str,
    key: str | None,
    ready_file: Path | None,
    clock_text: str,
) -> None:
    """Serve the local Azure Batch service until Ctrl-C or SIGTERM."""
    from batchspec.emulator.engine.clock import ClockError, parse
    from batchspec.emulator.server import serve, write_ready_file
    from batchspec.local import data_home

    data_dir = data_dir.expanduser() if data_dir is not None else data_home() / "emulator"

    try:
        clock = parse(clock_text)
    except ClockError as exc:
        raise click.BadParameter(str(exc), param_hint="'--clock'") from None

    user_key = key is not None
    key = _check_key(key) if key is not None else DEFAULT_KEY

    def ready(endpoint: str) -> None:
        click.echo(f"Local Azure Batch service listening on {endpoint}")
        click.echo(f"  account: {account}")
        # The default key is a public development key, shown to a person starting the service.
        # A key the user chose is never echoed, and neither key goes to the log of a program
        # that started us with --ready-file (it knows the key; logs are checked for secrets).
        if user_key:
            click.echo("  key:     (the key you passed with --key)")
        elif ready_file is None:
            click.echo(f"  key:     {key}")
        else:
            click.echo("  key:     the development key (docs/emulator.md)")
        click.echo(f"  data:    {data_dir}")
        if ready_file is not None:
            write_ready_file(ready_file, endpoint, account)

    try:
        serve(port, data_dir, account, key, ready, clock)
    except OSError as exc:
        raise click.ClickException(
            f"cannot serve on 127.0.0.1:{port} from {data_dir}: {exc.strerror or exc}"
        ) from None
    except sqlite3.Error as exc:
        raise click.ClickException(f"cannot open the state in {data_dir}: {exc}") from None
