"""`batchspec local install|up|down|status|logs`: manage the local target's services."""

from __future__ import annotations

from pathlib import Path

import click

from batchspec.local import data_home

DATA_DIR_HELP = "Data directory. Default: $BATCHSPEC_HOME, else ~/.batchspec."


@click.group(name="local")
def command() -> None:
    """Manage the local target: the local Batch service and Azurite.

    `apply --target local` starts them on demand; these commands start, show and stop them
    explicitly. Their data survives `down`.
    """


@command.command()
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help=DATA_DIR_HELP)
def install(data_dir: Path | None) -> None:
    """Install the pinned Azurite into the data directory (with npm; needs Node.js 20+).

    For a batchspec installed with pip or pipx; a source checkout gets it from `make install`.
    Running it again reinstalls the same version.
    """
    from batchspec.local.npm import InstallError, pinned_azurite
    from batchspec.local.npm import install as npm_install

    home = data_home(data_dir)
    click.echo(f"installing Azurite {pinned_azurite()} into {home / 'local' / 'npm'} ...")
    try:
        installed = npm_install(home)
    except InstallError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Azurite {installed.azurite_version} installed: {installed.azurite_blob}")


@command.command()
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help=DATA_DIR_HELP)
def up(data_dir: Path | None) -> None:
    """Start the local Batch service and Azurite if they are not running."""
    from batchspec.local.services import LocalServiceError, ensure_running
    from batchspec.redact import redact

    home = data_home(data_dir)
    try:
        endpoints = ensure_running(home)
    except LocalServiceError as exc:
        raise click.ClickException(redact(str(exc))) from None
    click.echo(f"batch    {endpoints.batch_endpoint} (account {endpoints.batch_account})")
    click.echo(f"storage  {endpoints.blob_endpoint} (account {endpoints.storage_account})")
    click.echo(f"data     {home / 'local'}")


@command.command()
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help=DATA_DIR_HELP)
def down(data_dir: Path | None) -> None:
    """Stop the local services; their data is kept for the next `up`."""
    from batchspec.local.services import LocalServiceError, stop

    try:
        stopped = stop(data_home(data_dir))
    except LocalServiceError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@command.command()
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help=DATA_DIR_HELP)
def status(data_dir: Path | None) -> None:
    """Show whether the local services run, where, and where their data and logs are.

    Exits 0 when both run, 3 otherwise (as `systemctl status` does for a stopped unit).
    """
    from batchspec.local.services import status as services_status

    state = services_status(data_home(data_dir))
    for service in state.services:
        if service.running:
            line = f"{service.name:<9}running  pid {service.pid}  {service.endpoint}"
        else:
            line = f"{service.name:<9}stopped"
        click.echo(f"{line}  log {service.log}")
    click.echo(f"data     {state.data_dir}")
    if not all(service.running for service in state.services):
        raise SystemExit(3)


@command.command()
@click.argument("service", type=click.Choice(["emulator", "azurite"]), required=False)
@click.option("-n", "--lines", default=40, show_default=True, help="Lines from the end.")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None, help=DATA_DIR_HELP)
def logs(service: str | None, lines: int, data_dir: Path | None) -> None:
    """Print the end of the local services' logs (secrets redacted)."""
    from batchspec.emulator.api.auth import DEFAULT_KEY
    from batchspec.local.keys import existing_keys
    from batchspec.local.services import AZURITE_KEY
    from batchspec.local.services import status as services_status
    from batchspec.redact import redact, register_secret

    register_secret(DEFAULT_KEY)
    register_secret(AZURITE_KEY)
    state = services_status(data_home(data_dir))
    keys = existing_keys(state.data_dir)
    if keys is not None:
        register_secret(keys.batch_key)
        register_secret(keys.storage_key)
    for entry in state.services:
        if service is not None and entry.name != service:
            continue
        click.echo(f"== {entry.log}")
        try:
            text = entry.log.read_text(errors="replace")
        except OSError:
            click.echo("(no log yet)")
            continue
        tail = text.splitlines()[-lines:] if lines > 0 else []
        for line in tail:
            click.echo(redact(line))
