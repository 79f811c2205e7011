"""`batchspec emulator`: serve the local Azure Batch service in the foreground."""

from __future__ import annotations

import base64
import binascii
import os
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


def _private_key(data_dir: Path) -> tuple[str, Path]:
    """The random key of a data directory, made on first use in a file only its owner reads."""
    from batchspec.local.keys import PRIVATE_FILE, new_key

    path = data_dir / "account.key"
    try:
        return _check_key(path.read_text().strip()), path
    except FileNotFoundError:
        pass
    key = new_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n")
    return key, path


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
    "--key",
    default=None,
    help="Base64 account key. Default: $BATCHSPEC_EMULATOR_KEY, else a random key kept in "
    "DATA_DIR/account.key (readable by you only). Pass the documented development key "
    "(docs/emulator.md) for programs that expect it.",
)
@click.option(
    "--ready-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help='Once listening, write {"endpoint", "account", "pid"} here as JSON.',
)
@click.option(
    "--lifecycle-delay",
    type=click.FloatRange(min=0.01),
    default=0.5,
    show_default=True,
    help="Seconds a passing state lasts (a job terminating or deleting, a pool resizing, a "
    "node creating...). Never zero: Batch goes through these states too.",
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
    lifecycle_delay: float,
    clock_text: str,
) -> None:
    """Serve the local Azure Batch service until Ctrl-C or SIGTERM."""
    from batchspec.emulator.engine.clock import ClockError, parse
    from batchspec.emulator.server import serve, write_ready_file
    from batchspec.local import data_home
    from batchspec.local.keys import EMULATOR_KEY_VARIABLE, PRIVATE_UMASK, private_dir
    from batchspec.redact import register_secret

    data_dir = data_dir.expanduser() if data_dir is not None else data_home() / "emulator"

    try:
        clock = parse(clock_text)
    except ClockError as exc:
        raise click.BadParameter(str(exc), param_hint="'--clock'") from None

    # Nothing the service writes (its state, which holds SAS URLs; node and task directories)
    # is readable by other users of the machine.
    os.umask(PRIVATE_UMASK)
    data_dir = private_dir(data_dir.expanduser())
    if key is not None:
        key = _check_key(key)
        where = "the key you passed with --key"
        if key == DEFAULT_KEY:
            where = (
                "the public development key (docs/emulator.md): anyone on this machine can use it"
            )
    elif os.environ.get(EMULATOR_KEY_VARIABLE):
        key = _check_key(os.environ[EMULATOR_KEY_VARIABLE])
        where = f"the key in ${EMULATOR_KEY_VARIABLE}"
    else:
        key, path = _private_key(data_dir)
        where = f"in {path} (readable by you only)"

    register_secret(key)  # the service's own log lines never show it

    def ready(endpoint: str) -> None:
        click.echo(f"Local Azure Batch service listening on {endpoint}")
        click.echo(f"  account: {account}")
        # No key is echoed: logs and terminals are checked for secrets.
        click.echo(f"  key:     {where}")
        click.echo(f"  data:    {data_dir}")
        if ready_file is not None:
            write_ready_file(ready_file, endpoint, account)

    try:
        serve(port, data_dir, account, key, ready, delay=lifecycle_delay, clock=clock)
    except OSError as exc:
        raise click.ClickException(
            f"cannot serve on 127.0.0.1:{port} from {data_dir}: {exc.strerror or exc}"
        ) from None
    except sqlite3.Error as exc:
        raise click.ClickException(f"cannot open the state in {data_dir}: {exc}") from None
