"""`batchspec apply SPEC`: run a spec on the local target or on Azure Batch.

Exit codes: 0 every task succeeded, 1 a task failed or the run failed, 2 a usage, spec or
configuration error (nothing was created), 130 interrupted (Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import datetime
import logging
import os
import secrets
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

from batchspec.plan.model import Plan, RunInfo

if TYPE_CHECKING:
    from batchspec.apply.console import Reporter
    from batchspec.apply.journal import Journal, RunState
    from batchspec.targets import Target

EXIT_USAGE = 2


@click.command(name="apply")
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
def command(
    spec: Path,
    target: str | None,
    variables: tuple[str, ...],
    yes: bool,
    rerun: bool,
    recreate_pool: bool,
    data_dir: Path | None,
) -> None:
    """Run SPEC: upload its files, create its pool and job, run its tasks, fetch the results.

    Running it again continues an unfinished run (after an error, Ctrl-C or kill -9).

    \b
    Exit codes:
      0    every task succeeded and every output was downloaded
      1    a task failed, or the run failed
      2    the spec, a --var or the target configuration is wrong (nothing was created)
      130  interrupted (Ctrl-C or SIGTERM)
    """
    code = run(
        spec,
        target,
        variables,
        yes=yes,
        rerun=rerun,
        recreate_pool=recreate_pool,
        data_dir=data_dir,
    )
    sys.exit(code)


def run(
    spec: Path,
    target_name: str | None,
    variables: tuple[str, ...],
    *,
    yes: bool,
    rerun: bool,
    recreate_pool: bool,
    data_dir: Path | None,
) -> int:
    """The apply command without click: returns the exit code."""
    # Imported here so that `batchspec --help` and `validate` never load the Azure SDKs.
    from batchspec.apply.console import Reporter
    from batchspec.apply.journal import Journal, JournalBusy
    from batchspec.apply.workflow import ApplyOptions, Workflow
    from batchspec.local import data_home
    from batchspec.redact import RedactingFilter
    from batchspec.targets import ConfigError, resolve_target

    reporter = Reporter()
    _redact_logs(RedactingFilter())
    overrides = _parse_vars(variables)
    if isinstance(overrides, str):
        reporter.error(overrides)
        return EXIT_USAGE
    plan = _load(spec, overrides, None, reporter)
    if plan is None:
        return EXIT_USAGE
    home = data_home(data_dir)
    interactive = reporter.interactive and not yes

    def confirm(question: str) -> bool:
        if not interactive:
            return True
        try:
            return click.confirm(question, default=True)
        except click.Abort:
            # click turns Ctrl-C (or end of input) at a prompt into Abort: keep it an interrupt.
            raise KeyboardInterrupt from None

    refusal = local_refusal(plan, target_name)
    if refusal is not None:
        reporter.error(refusal)
        return EXIT_USAGE
    try:
        target = resolve_target(target_name, home)
    except ConfigError as exc:
        reporter.error(str(exc))
        return EXIT_USAGE

    journal = Journal(home, plan.spec_path, target.name)
    try:
        with journal.locked(), _sigterm_as_interrupt():
            chosen = _choose_run(journal, plan, target, spec, overrides, rerun, reporter)
            if isinstance(chosen, int):
                return chosen
            plan, state, resuming = chosen
            if not resuming and not confirm(_summary(plan) + " Proceed?"):
                reporter.step("nothing done")
                return 0
            options = ApplyOptions(
                recreate_pool=recreate_pool,
                confirm=confirm,
                poll_seconds=0.5 if target.name == "local" else 5.0,
            )
            return Workflow(plan, target, journal, state, reporter, options).run()
    except JournalBusy as exc:
        reporter.error(str(exc))
        return 1
    except KeyboardInterrupt:
        reporter.error("interrupted")
        return 130


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


def _choose_run(
    journal: Journal,
    plan: Plan,
    target: Target,
    spec: Path,
    overrides: dict[str, str],
    rerun: bool,
    reporter: Reporter,
) -> tuple[Plan, RunState, bool] | int:
    """The run to do: the journal's unfinished run of this spec, or a new one.

    Returns (plan, journal state, resuming), or an exit code when there is nothing to run.
    """
    from batchspec.apply.workflow import new_run_state

    state = journal.load()
    if state is not None and state.spec_digest == plan.spec_digest and not rerun:
        if state.finished:
            reporter.step(
                f"run {state.run_id} of this spec finished at {state.updated_at} "
                f"(exit code {state.exit_code}); nothing to do. Use --rerun to run it again."
            )
            return state.exit_code or 0
        resumed = _load(spec, overrides, RunInfo(state.run_id, state.run_date), reporter)
        if resumed is None:
            return EXIT_USAGE
        reporter.step(f"continuing run {state.run_id} (started {state.started_at})")
        return resumed, state, True
    if state is not None and not state.finished:
        reporter.warn(
            f"run {state.run_id} did not finish; starting a new run "
            f"(job {state.job_id} is left as it is)"
        )
    if rerun:
        # An unchanged spec keeps its run id (so its job id): a rerun needs a new one.
        fresh = RunInfo(secrets.token_hex(4), datetime.date.today().isoformat())
        rerun_plan = _load(spec, overrides, fresh, reporter)
        if rerun_plan is None:
            return EXIT_USAGE
        plan = rerun_plan
    return plan, new_run_state(plan, target), False


def _load(
    spec: Path, overrides: dict[str, str], run_info: RunInfo | None, reporter: Reporter
) -> Plan | None:
    from batchspec.plan.build import load_plan

    result = load_plan(spec, overrides, run=run_info)
    if isinstance(result, list):
        for diagnostic in result:
            reporter.console.print(str(diagnostic), markup=False, highlight=False, soft_wrap=True)
        reporter.error(f"{spec}: {len(result)} problem(s); nothing was created")
        return None
    return result


def _parse_vars(variables: tuple[str, ...]) -> dict[str, str] | str:
    overrides: dict[str, str] = {}
    for item in variables:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            return f"--var {item!r}: expected NAME=VALUE"
        overrides[name.strip()] = value
    return overrides


def _summary(plan: Plan) -> str:
    pool = plan.pool
    nodes = pool.dedicated_nodes + pool.spot_nodes
    return (
        f"Apply {plan.name}: {len(plan.uploads)} upload(s), pool {pool.id} ({pool.vm_size}, "
        f"{nodes} node(s)), job {plan.job.id} with {len(plan.tasks)} task(s)."
    )


def _redact_logs(redacting: logging.Filter) -> None:
    """Route SDK warnings to stderr through the redacting filter (they quote request URLs)."""
    handler = logging.StreamHandler()
    handler.setLevel(logging.WARNING)
    handler.addFilter(redacting)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_batchspec", False)]:
        root.removeHandler(old)
    handler._batchspec = True  # type: ignore[attr-defined]
    root.addHandler(handler)


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
