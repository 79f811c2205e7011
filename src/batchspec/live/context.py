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

from batchspec.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_NO_RUN,
    BatchspecError,
    RunFailed,
)
from batchspec.plan.model import Plan, RunInfo

if TYPE_CHECKING:
    from azure.batch import BatchClient
    from azure.storage.blob import BlobServiceClient

    from batchspec.apply.journal import Journal, RunState
    from batchspec.plan.listing import Listings
    from batchspec.targets import Target

F = TypeVar("F", bound=Callable[..., Any])

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


class LiveError(BatchspecError):
    """A day-two verb cannot go on: `lines` (if any) then `error: message` on stderr."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED, lines: tuple[str, ...] = ()):
        super().__init__(message, exit_code)
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
    listing_problem: str | None = None
    """Why the spec's `blobs:` factories could not be listed (storage not reachable): the
    plan is then the one made without the listing."""

    @property
    def job_id(self) -> str:
        """The job of the journal's run, else the job the plan names."""
        return self.state.job_id if self.state is not None else self.plan.job.id

    @property
    def pool_id(self) -> str:
        return self.state.pool_id if self.state is not None else self.plan.pool.id

    def live_pool_id(self, batch: BatchClient) -> str:
        """The pool the run's job is on: for an auto pool, the id Batch gave it (the job's
        execution info); the journal's pool otherwise, or when the job is gone."""
        if self.plan.pool.lifetime != "job":
            return self.pool_id
        from azure.core.exceptions import ResourceNotFoundError

        try:
            info = batch.get_job(self.job_id, select=["id", "executionInfo"]).execution_info
        except ResourceNotFoundError:
            return self.pool_id
        return info.pool_id if info is not None and info.pool_id else self.pool_id

    def require_run(self) -> RunState:
        """The journal's run (`open_run` with `need_run` has made sure there is one)."""
        if self.state is None:
            raise LiveError(f"no run of {self.spec} on {self.target.name}", EXIT_NO_RUN)
        return self.state


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
    from batchspec.commands._load import parse_vars, plan_spec
    from batchspec.local import data_home
    from batchspec.targets import default_target_name, resolve_target

    overrides = parse_vars(variables)
    plan = plan_spec(spec, overrides, outcome="nothing done")
    home = data_home(data_dir)
    journal = Journal(home, plan.spec_path, target_name or default_target_name())
    state = journal.load()
    if need_run and state is None:
        name = target_name or default_target_name()
        raise LiveError(
            f"no run of {spec} on {name} in {home} (apply has not run it here)", EXIT_NO_RUN
        )
    target = resolve_target(target_name, home)
    plan, listings, problem = _listed(spec, overrides, plan, target, strict=not need_run)
    if state is not None and state.spec_digest == plan.spec_digest:
        # The run's own plan: ids and names that template `run.id` are the run's.
        plan = plan_spec(
            spec,
            overrides,
            RunInfo(state.run_id, state.run_date),
            outcome="nothing done",
            listings=listings,
        )
    return RunContext(spec, plan, target, journal, state, problem)


def _listed(
    spec: Path, overrides: dict[str, str], plan: Plan, target: Target, *, strict: bool
) -> tuple[Plan, Listings | None, str | None]:
    """The plan with its `blobs:` listings, as apply makes it, or why it could not be listed.

    Storage out of reach leaves the plan unlisted, with the reason. A listing apply would
    refuse (no blob, no such container) is the spec's error where `strict` (plan --refresh);
    status, logs and destroy still report the journal's run.
    """
    from batchspec.apply.listing import listed_plan
    from batchspec.errors import SpecError

    if not plan.listings:
        return plan, None, None
    try:
        listed, listings = listed_plan(spec, overrides, plan, target, outcome="nothing done")
    except RunFailed as exc:
        return plan, None, exc.message
    except SpecError:
        if strict:
            raise
        return plan, None, None
    return listed, listings, None


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
    """A service error becomes one line (exit 1), Ctrl-C exit 130; BatchspecError goes to the
    CLI, which prints it and exits with its code."""
    from azure.core.exceptions import AzureError

    from batchspec.redact import describe_error

    # azure-batch logs a traceback when an answer without a body (a 404 to a HEAD, as for a
    # task that has no stderr.txt) cannot be read, then carries on: nothing for the user.
    logging.getLogger("azure.batch._utils.model_base").setLevel(logging.ERROR)
    try:
        yield
    except AzureError as exc:
        raise RunFailed(describe_error(exc)) from None
    except KeyboardInterrupt:
        click.echo("error: interrupted", err=True)
        ctx.exit(EXIT_INTERRUPTED)
