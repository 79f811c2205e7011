"""`plan --refresh`: the plan held against the target, printed, with its exit code.

The checks before anything is created run first (`live.preflight`, with a pool of other
settings shown as a `~` change rather than refused); a problem is an error. With
`--detailed-exitcode` the codes are Terraform's: 0 no changes, 2 changes, 1 any error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from azure.core.exceptions import ResourceNotFoundError

from batchspec.apply.listing import listing_summary
from batchspec.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from batchspec.live.context import LiveError, RunContext, clients, open_run
from batchspec.live.refresh import Refreshed, refresh
from batchspec.plan.show import task_json
from batchspec.plan.show_listings import listings_json

EXIT_CHANGES = 2


def refreshed_plan(
    ctx: click.Context,
    spec: Path,
    variables: tuple[str, ...],
    target_name: str | None,
    data_dir: Path | None,
    fmt: str,
    detailed: bool,
) -> int:
    """`plan --refresh [--detailed-exitcode]`: the exit code; with `detailed`, errors are 1."""
    from batchspec.errors import BatchspecError, UsageError
    from batchspec.live.context import guarded

    try:
        if not ctx.params.get("refresh"):
            raise UsageError("--detailed-exitcode compares the plan with the target: add --refresh")
        with guarded(ctx):
            return show(spec, variables, target_name, data_dir, fmt=fmt, detailed=detailed)
    except BatchspecError as exc:
        if detailed:
            exc.exit_code = EXIT_FAILED
        raise


def show(
    spec: Path,
    variables: tuple[str, ...],
    target_name: str | None,
    data_dir: Path | None,
    *,
    fmt: str,
    detailed: bool,
) -> int:
    """Print the refreshed plan; return the exit code."""
    run = open_run(spec, variables, target_name, data_dir, need_run=False)
    if run.listing_problem is not None:
        return unlisted(run, fmt=fmt, detailed=detailed)
    refreshed = compare(run, detailed=detailed)
    if fmt == "json":
        document = refreshed.as_json()
        if run.plan.listings:
            document["listings"] = listings_json(run.plan, task_json)
        click.echo(json.dumps(document, indent=2))
    else:
        click.echo(refreshed.headline)
        for line in listing_summary(run.plan):
            click.echo(line)
        for change in refreshed.changes:
            click.echo(str(change))
        click.echo(refreshed.summary())
    if detailed and refreshed.has_changes:
        return EXIT_CHANGES
    return EXIT_OK


def unlisted(run: RunContext, *, fmt: str, detailed: bool) -> int:
    """Storage out of reach for a `blobs:` listing: say so, show the plan made without it.

    Not an error of the spec: exit 0, as `plan` itself would (1 with --detailed-exitcode,
    which cannot tell whether apply has work).
    """
    from batchspec.plan.show import write_json, write_text

    click.echo(
        f"plan --refresh: {run.listing_problem}; storage cannot be reached, so nothing was "
        "compared and this is the plan without the listing (apply lists the blobs when it runs)",
        err=True,
    )
    if fmt == "json":
        write_json(run.plan, sys.stdout)
    else:
        write_text(run.plan, sys.stdout)
    return EXIT_FAILED if detailed else EXIT_OK


def compare(run: RunContext, *, detailed: bool) -> Refreshed:
    """The checks, then the comparison; a check that fails is LiveError (1 with `detailed`)."""
    from batchspec.apply.ownership import read_batch_mark, read_mark
    from batchspec.apply.storage import container_metadata
    from batchspec.live import preflight

    plan, state, owner = run.plan, run.state, run.journal.owner
    same = state is not None and state.spec_digest == plan.spec_digest
    finished = same and state is not None and state.finished
    where = f"{plan.name} on {run.target.name}"
    if state is None:
        headline = f"run {plan.run.id} of {where}: a new run"
    elif same:
        word = f"finished (exit code {state.exit_code})" if finished else "unfinished, continued"
        headline = f"run {state.run_id} of {where}: {word}"
    else:
        headline = f"run {plan.run.id} of {where}: a new run (run {state.run_id} had other inputs)"
    with clients(run.target) as (batch, blobs):
        if not finished:
            expect = preflight.Expectation(resuming=same, recreate_pool=True)
            problems = preflight.located(run.spec, preflight.check(plan, batch, blobs, expect))
            if problems:
                raise LiveError(
                    f"{run.spec}: {len(problems)} problem(s) on {run.target.name}; apply would "
                    "create nothing",
                    EXIT_FAILED if detailed else EXIT_USAGE,
                    tuple(map(str, problems)),
                )

        def owned(kind: str, name: str) -> bool:
            if state is not None and state.owned(kind, name) in ("created", "creating"):
                return True
            if kind == "container":
                mark = read_mark(container_metadata(blobs, name))
            else:
                try:
                    pool = batch.get_pool(name, select=["id", "metadata"])
                except ResourceNotFoundError:
                    return False
                mark = read_batch_mark(pool.metadata)
            return mark is not None and mark.owner == owner

        return refresh(plan, batch, blobs, finished=finished, headline=headline, owned=owned)
