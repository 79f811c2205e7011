"""`batchspec apply SPEC`: run a spec on the local target or on Azure Batch.

The spec is loaded and planned as validate and plan do it (`commands._load`): a bad --var or a
spec with problems ends here with exit 2, before any target is contacted. Exit codes are in
`batchspec.errors`.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import secrets
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

from batchspec.commands._load import parse_vars, plan_spec
from batchspec.errors import (
    EXIT_CODES_HELP,
    EXIT_INTERRUPTED,
    EXIT_OK,
    BatchspecError,
    ConfigError,
)
from batchspec.plan.model import Plan, RunInfo

if TYPE_CHECKING:
    from batchspec.apply.console import Reporter, Verbosity
    from batchspec.apply.journal import Journal, RunState
    from batchspec.plan.listing import Listings
    from batchspec.targets import Target

NOTHING_CREATED = "nothing was created"


@click.command(name="apply", epilog=EXIT_CODES_HELP)
@click.argument("spec", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--target",
    type=click.Choice(["local", "azure"]),
    default=None,
    help="Where to run. Default: azure if AZURE_BATCH_ENDPOINT is set, else local.",
)
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", help="Override a var.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--rerun", is_flag=True, help="Start a new run even if the last one finished.")
@click.option(
    "--recreate-pool", is_flag=True, help="Delete and recreate the pool if its settings differ."
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="batchspec's data directory (default: $BATCHSPEC_HOME or ~/.batchspec).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    help="json: print a summary document on stdout at the end; progress goes to stderr.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print only errors, warnings and the result.")
@click.option("--verbose", "-v", is_flag=True, help="Also print the details of each step.")
def command(
    spec: Path,
    target: str | None,
    variables: tuple[str, ...],
    yes: bool,
    rerun: bool,
    recreate_pool: bool,
    data_dir: Path | None,
    output_format: str,
    quiet: bool,
    verbose: bool,
) -> None:
    """Run SPEC: upload its files, create its pool and job, run its tasks, fetch the results.

    Running it again continues an unfinished run (after an error, Ctrl-C or kill -9). It asks
    before starting only when both stdin and stdout are terminals (and not with --yes).
    """
    if quiet and verbose:
        raise click.UsageError("--quiet and --verbose cannot be used together")
    verbosity: Verbosity = "quiet" if quiet else "verbose" if verbose else "normal"
    reporter = _reporter(verbosity, json_output=output_format == "json")
    try:
        code = run(
            spec,
            target,
            variables,
            yes=yes,
            rerun=rerun,
            recreate_pool=recreate_pool,
            data_dir=data_dir,
            reporter=reporter,
        )
    except BatchspecError as exc:
        if output_format == "json":
            _print_summary(reporter, spec, target, exc.exit_code)
        raise
    if output_format == "json":
        _print_summary(reporter, spec, target, code)
    sys.exit(code)


def _reporter(verbosity: Verbosity, *, json_output: bool) -> Reporter:
    """The run's output: with --format json everything but the summary goes to stderr."""
    from rich.console import Console

    from batchspec.apply.console import Reporter

    if not json_output:
        return Reporter(verbosity=verbosity)
    errors = Console(highlight=False, stderr=True)
    return Reporter(errors, errors, verbosity=verbosity)


def _print_summary(reporter: Reporter, spec: Path, target: str | None, code: int) -> None:
    """The --format json document, on stdout (keys are listed in the README)."""
    from batchspec.apply.record import summary_document

    document = summary_document(
        reporter.record,
        target=reporter.record.target or target or "",
        spec=str(spec),
        exit_code=code,
    )
    click.echo(json.dumps(document, indent=2))


def run(
    spec: Path,
    target_name: str | None,
    variables: tuple[str, ...],
    *,
    yes: bool,
    rerun: bool,
    recreate_pool: bool,
    data_dir: Path | None,
    reporter: Reporter | None = None,
) -> int:
    """The apply command without click: returns the exit code of the run.

    Raises a BatchspecError (a bad --var or spec, a target misconfigured) before anything is
    created; the CLI prints it and exits with its code.
    """
    # Imported here so that `batchspec --help` and `validate` never load the Azure SDKs.
    from batchspec.apply.console import Reporter
    from batchspec.apply.journal import Journal
    from batchspec.apply.listing import listed_plan, listing_summary
    from batchspec.apply.workflow import ApplyOptions, Workflow
    from batchspec.local import data_home
    from batchspec.redact import RedactingFilter
    from batchspec.targets import resolve_target

    _redact_logs(RedactingFilter())
    overrides = parse_vars(variables)
    plan = plan_spec(spec, overrides, outcome=NOTHING_CREATED)
    reporter = reporter or Reporter()
    home = data_home(data_dir)
    interactive = not yes and reporter.interactive and _stdin_is_terminal()

    def confirm(question: str) -> bool:
        if not interactive:
            return True
        try:
            # With --format json the question goes to stderr, with the rest of the output.
            return click.confirm(question, default=True, err=reporter.console.stderr)
        except click.Abort:
            # click turns Ctrl-C (or end of input) at a prompt into Abort: keep it an interrupt.
            raise KeyboardInterrupt from None

    refusal = local_refusal(plan, target_name)
    if refusal is not None:
        raise ConfigError(refusal)  # before resolve_target, which starts the local services
    target = resolve_target(target_name, home)
    reporter.record.target = target.name
    # `blobs:` factories: their tasks (and the run id) come from a listing made now.
    plan, listings = listed_plan(spec, overrides, plan, target, outcome=NOTHING_CREATED)
    for line in listing_summary(plan):
        reporter.step(line)
    problem = _container_problem(plan, target)
    if problem is not None:
        raise ConfigError(problem)
    problem = _mount_secret_problem(plan)
    if problem is not None:
        raise ConfigError(problem)
    journal = Journal(home, plan.spec_path, target.name)
    try:
        with journal.locked(), _sigterm_as_interrupt():
            chosen = _choose_run(journal, plan, target, spec, overrides, rerun, reporter, listings)
            if isinstance(chosen, int):
                return chosen
            plan, state, resuming = chosen
            reporter.record.run_id = plan.run.id
            _checks_before_create(plan, target, spec, resuming, recreate_pool)
            if not resuming and interactive and not confirm(_intent(plan, target, journal)):
                reporter.result("nothing done")
                return EXIT_OK
            options = ApplyOptions(
                recreate_pool=recreate_pool,
                confirm=confirm,
                poll_seconds=0.5 if target.name == "local" else 5.0,
            )
            return Workflow(plan, target, journal, state, reporter, options).run()
    except KeyboardInterrupt:
        reporter.error("interrupted")
        return EXIT_INTERRUPTED


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):  # closed or detached
        return False


def _intent(plan: Plan, target: Target, journal: Journal) -> str:
    """The confirmation question: target, account, and what is created, reused, deleted."""
    from batchspec.apply.survey import intent

    batch, blobs = target.batch_client(), target.blob_service()
    try:
        return intent(plan, target, batch, blobs, journal.owner) + "\nProceed?"
    finally:
        batch.close()
        blobs.close()


def _checks_before_create(
    plan: Plan, target: Target, spec: Path, resuming: bool, recreate: bool
) -> None:
    """What Batch or Storage would refuse, asked before anything is created (exit 2 if any)."""
    from batchspec.live.preflight import Expectation, refuse_unfit

    refuse_unfit(plan, target, spec, Expectation(resuming, recreate))


def local_refusal(plan: Plan, target_name: str | None) -> str | None:
    """Why the local target cannot run `plan`, before any service is started; None if it can."""
    from batchspec.targets import default_target_name

    chosen = default_target_name(os.environ) if target_name is None else target_name
    if chosen != "local" or plan.pool.os_family != "windows":
        return None
    agent = plan.pool.image.node_agent_sku_id
    return (
        f"pool {plan.pool.id} uses a Windows image (node agent {agent!r}); the local target "
        "runs Linux nodes only, so nothing was created: run it with --target azure"
    )


def _warn_of_missing_downloads(state: RunState, reporter: Reporter) -> None:
    """A finished run whose downloaded files were removed since: say so, and how to get them."""
    missing = [name for name, _ in state.downloaded if not Path(name).exists()]
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        reporter.warn(
            f"{missing[0]}{more}, downloaded by run {state.run_id}, no longer exist; "
            "--rerun runs the spec again to make them"
        )


def _choose_run(
    journal: Journal,
    plan: Plan,
    target: Target,
    spec: Path,
    overrides: dict[str, str],
    rerun: bool,
    reporter: Reporter,
    listings: Listings | None = None,
) -> tuple[Plan, RunState, bool] | int:
    """The run to do: the journal's unfinished run of this spec, or a new one.

    Returns (plan, journal state, resuming), or an exit code when there is nothing to run.
    """
    from batchspec.apply.journal import changes_since
    from batchspec.apply.workflow import new_run_state

    state = journal.load()
    if state is not None and state.spec_digest == plan.spec_digest and not rerun:
        if state.finished:
            reporter.record.run_id = state.run_id
            reporter.result(
                f"run {state.run_id} of this spec finished at {state.updated_at} "
                f"(exit code {state.exit_code}); nothing to do. Use --rerun to run it again."
            )
            _warn_of_missing_downloads(state, reporter)
            return state.exit_code or 0
        resumed = plan_spec(
            spec,
            overrides,
            RunInfo(state.run_id, state.run_date),
            outcome=NOTHING_CREATED,
            listings=listings,
        )
        reporter.step(f"continuing run {state.run_id} (started {state.started_at})")
        return resumed, state, True
    if state is not None and not rerun:
        why = changes_since(state, plan.spec_digest, plan.inputs)
        reporter.step(f"new run {plan.run.id}: changed since run {state.run_id}: {why}")
    if state is not None and not state.finished:
        reporter.warn(
            f"run {state.run_id} did not finish; starting a new run "
            f"(job {state.job_id} is left as it is)"
        )
    if rerun:
        # An unchanged spec keeps its run id (so its job id): a rerun needs a new one.
        fresh = RunInfo(secrets.token_hex(4), datetime.date.today().isoformat())
        plan = plan_spec(spec, overrides, fresh, outcome=NOTHING_CREATED, listings=listings)
    return plan, new_run_state(plan, target, state), False


def _container_problem(plan: Plan, target: Target) -> str | None:
    """A container plan's missing registry password or missing local engine, before any change."""
    from batchspec.apply.containers import container_problem

    if plan.pool.container_configuration is None:
        return None
    if target.name != "local":
        return container_problem(plan, None)
    client = target.batch_client()
    try:
        return container_problem(plan, client)
    finally:
        client.close()


def _mount_secret_problem(plan: Plan) -> str | None:
    """A mount whose key, SAS or password variable is unset, before any change."""
    from batchspec.apply.azure_pool_models import missing_mount_secret

    return missing_mount_secret(plan.pool, os.environ)


def _redact_logs(redacting: logging.Filter) -> None:
    """Route SDK warnings to stderr through the redacting filter (they quote request URLs)."""
    handler = logging.StreamHandler()
    handler.setLevel(logging.WARNING)
    handler.addFilter(redacting)
    handler.setFormatter(_OneLine("warning: %(message)s"))
    # azure-batch logs a traceback when an answer without a body (a 404 to a HEAD, as for a
    # task that has no stderr.txt) cannot be read, then carries on: nothing for the user.
    logging.getLogger("azure.batch._utils.model_base").setLevel(logging.ERROR)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_batchspec", False)]:
        root.removeHandler(old)
    handler._batchspec = True  # type: ignore[attr-defined]
    root.addHandler(handler)


class _OneLine(logging.Formatter):
    """A log record as one line: an SDK's traceback is for its developers, not for users."""

    def formatException(self, ei: Any) -> str:
        return ""

    def format(self, record: logging.LogRecord) -> str:
        record.exc_text = None
        saved, record.exc_info, record.stack_info = record.exc_info, None, None
        try:
            return super().format(record)
        finally:
            record.exc_info = saved


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C, so a stopped CI job still applies the clean-up policy."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
