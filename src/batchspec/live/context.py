"""The run a day-two verb is about: the spec's plan, the target, and the journal's last run.

status, logs, destroy and `plan --refresh` all start here, so they agree on which run they
show: the one apply would continue, or the one it last finished, on the chosen target in the
chosen data directory.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from batchspec.plan.model import Plan

if TYPE_CHECKING:
    from azure.batch import BatchClient
    from azure.storage.blob import BlobServiceClient

    from batchspec.apply.journal import Journal, RunState
    from batchspec.targets import Target

F = TypeVar("F", bound=Callable[..., Any])
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NO_RUN = 0, 1, 2, 3

EXIT_CODES_HELP = """\
\b
Exit codes:
  0    done
  1    the operation failed (a service could not be reached or refused a request)
  2    the spec, a --var or the target configuration is wrong; nothing was done
  3    no run of the spec on this target in this data directory
"""

TARGET_OPTION = click.option(
    "--target",
    type=click.Choice(["local", "azure"]),
    default=None,
    help="Where the run is. Default: azure if AZURE_BATCH_ENDPOINT is set, else local.",
)
DATA_DIR_OPTION = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="batchspec's data directory (default: $BATCHSPEC_HOME or ~/.batchspec).",
)
VAR_OPTION = click.option(
    "--var", "variables", multiple=True, metavar="NAME=VALUE", help="Override a var."
)
SPEC_ARGUMENT = click.argument("spec", type=click.Path(exists=True, dir_okay=False, path_type=Path))


def format_option(default: str = "text") -> Callable[[F], F]:
    """`--format text|json`, as every verb has it."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["text", "json"]),
        default=default,
        show_default=True,
        help="text for people; json: the same data as one JSON document.",
    )


class LiveError(Exception):
    """A day-two verb cannot go on: its lines go to stderr and it exits with `exit_code`."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED, lines: tuple[str, ...] = ()):
        super().__init__(message)
        self.message, self.exit_code = message, exit_code
        self.extra = lines

    def lines(self) -> list[str]:
        return [*self.extra, f"error: {self.message}"]


@dataclass(frozen=True)
class RunContext:
    """A spec's plan on a target, and the journal's run of it (None: apply never ran it here)."""

    spec: Path
    plan: Plan
    target: Target
    journal: Journal
    state: RunState | None

    @property
    def job_id(self) -> str:
        """The job of the journal's run, else the job the plan names."""
        return self.state.job_id if self.state is not None else self.plan.job.id

    @property
    def pool_id(self) -> str:
        return self.state.pool_id if self.state is not None else self.plan.pool.id

    def require_run(self) -> RunState:
        """The journal's run (`open_run` with `need_run` has made sure there is one)."""
        if self.state is None:
            raise LiveError(f"no run of {self.spec} on {self.target.name}", EXIT_NO_RUN)
        return self.state


def load_plan_or_fail(spec: Path, variables: tuple[str, ...]) -> Plan:
    """The spec's plan; a bad --var or a spec with problems is LiveError (exit 2)."""
    from batchspec.commands.validate import parse_vars, without_secrets
    from batchspec.plan.build import load_plan

    try:
        overrides = parse_vars(variables)
    except click.UsageError as exc:
        raise LiveError(exc.message, EXIT_USAGE) from None
    try:
        result = load_plan(spec, overrides)
    except Exception as exc:  # no input may end in a traceback
        raise LiveError(f"{spec}: internal error while planning ({exc})", EXIT_USAGE) from None
    if isinstance(result, list):
        shown = tuple(str(without_secrets(d)) for d in sorted(result))
        raise LiveError(f"{spec}: {len(result)} error(s); nothing done", EXIT_USAGE, shown)
    return result


def open_run(
    spec: Path,
    variables: tuple[str, ...],
    target_name: str | None,
    data_dir: Path | None,
    *,
    need_run: bool = True,
) -> RunContext:
    """Load and plan the spec, read the journal, resolve the target (no request is sent).

    With `need_run`, no journal run is LiveError (exit 3), found before the local target's
    services would be started for nothing.
    """
    from batchspec.apply.journal import Journal
    from batchspec.local import data_home
    from batchspec.targets import ConfigError, default_target_name, resolve_target

    plan = load_plan_or_fail(spec, variables)
    home = data_home(data_dir)
    journal = Journal(home, plan.spec_path, target_name or default_target_name())
    state = journal.load()
    if need_run and state is None:
        name = target_name or default_target_name()
        raise LiveError(
            f"no run of {spec} on {name} in {home} (apply has not run it here)", EXIT_NO_RUN
        )
    try:
        target = resolve_target(target_name, home)
    except ConfigError as exc:
        raise LiveError(str(exc), EXIT_USAGE) from None
    return RunContext(spec, plan, target, journal, state)


@contextmanager
def clients(target: Target) -> Iterator[tuple[BatchClient, BlobServiceClient]]:
    """The target's Batch and Blob clients, closed afterwards."""
    batch, blobs = target.batch_client(), target.blob_service()
    try:
        yield batch, blobs
    finally:
        batch.close()
        blobs.close()


@contextmanager
def guarded(ctx: click.Context) -> Iterator[None]:
    """Turn a LiveError, a service error or Ctrl-C into its message and exit code."""
    from azure.core.exceptions import AzureError

    from batchspec.redact import describe_error, redact

    # azure-batch logs a traceback when an answer without a body (a 404 to a HEAD, as for a
    # task that has no stderr.txt) cannot be read, then carries on: nothing for the user.
    logging.getLogger("azure.batch._utils.model_base").setLevel(logging.ERROR)
    try:
        yield
    except LiveError as exc:
        for line in exc.lines():
            click.echo(redact(line), err=True)
        ctx.exit(exc.exit_code)
    except AzureError as exc:
        click.echo(f"error: {describe_error(exc)}", err=True)
        ctx.exit(EXIT_FAILED)
    except KeyboardInterrupt:
        click.echo("error: interrupted", err=True)
        ctx.exit(130)
