"""`batchspec status SPEC`: the run apply would continue or last finished, as Batch sees it now.

The journal names the run (its id, job and pool, what it owns); Batch says the rest
(`batchspec.live.status`). Read requests only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from batchspec.errors import EXIT_FAILED, EXIT_OK
from batchspec.live.context import (
    DATA_DIR_OPTION,
    SPEC_ARGUMENT,
    TARGET_OPTION,
    VAR_OPTION,
    RunContext,
    clients,
    format_option,
    guarded,
    open_run,
)
from batchspec.live.job_tasks import NodeTaskState, describe
from batchspec.live.runs import RUNNING, STOPPED, SUCCEEDED, state_word
from batchspec.live.schedule_status import schedule_lines

if TYPE_CHECKING:
    from batchspec.apply.journal import RunState
    from batchspec.live.status import BatchView

HELP_EPILOG = """\
\b
Exit codes:
  0    the run is under way (or stopped, for apply to continue), or it succeeded
  1    the run failed or was interrupted, or a service could not be reached
  2    the spec, a --var or the target configuration is wrong
  3    no run of the spec on this target in this data directory
"""


@click.command(name="status", epilog=HELP_EPILOG)
@SPEC_ARGUMENT
@TARGET_OPTION
@VAR_OPTION
@DATA_DIR_OPTION
@format_option()
@click.pass_context
def command(
    ctx: click.Context,
    spec: Path,
    target: str | None,
    variables: tuple[str, ...],
    data_dir: Path | None,
    fmt: str,
) -> None:
    """Show SPEC's run: pool and nodes, job, task counts, failed tasks, why tasks wait, and
    what the run created (and what it found existing)."""
    from batchspec.live.schedule_status import look_schedule
    from batchspec.live.status import look

    with guarded(ctx):
        run = open_run(spec, variables, target, data_dir)
        state = run.require_run()
        with clients(run.target) as (batch, _blobs):
            scheduled = run.plan.schedule is not None
            view = look(batch, state.pool_id, state.job_id)
            # A scheduled spec's job id names its schedule, whose jobs are listed with it.
            schedule = look_schedule(batch, state.job_id) if scheduled else None
        report = status_document(run, state, view)
        if schedule is not None:
            report["schedule"] = schedule.as_json()
        if fmt == "json":
            click.echo(json.dumps(report, indent=2))
        else:
            click.echo(status_text(report))
        ok = report["run"]["state"] in (RUNNING, STOPPED, SUCCEEDED)
        ctx.exit(EXIT_OK if ok else EXIT_FAILED)


def status_document(run: RunContext, state: RunState, view: BatchView) -> dict[str, Any]:
    """The status as one JSON-ready document (the `--format json` output)."""
    return {
        "spec": str(run.plan.spec_path),
        "name": run.plan.name,
        "target": run.target.name,
        "run": {
            "id": state.run_id,
            "state": state_word(state.finished, state.exit_code, run.journal.path),
            "started_at": state.started_at,
            "updated_at": state.updated_at,
            "finished": state.finished,
            "exit_code": state.exit_code,
            "steps_done": list(state.steps_done),
        },
        **view.as_json(),
        "planned_tasks": len(run.plan.tasks),
        "resources": [
            {"kind": r.kind, "name": r.name, "status": r.status} for r in state.resources
        ],
    }


def status_text(doc: dict[str, Any]) -> str:
    """The status for people: one line per part, then failures and reasons to wait."""
    run, pool, job, tasks = doc["run"], doc["pool"], doc["job"], doc["tasks"]
    ended = f", exit code {run['exit_code']}" if run["finished"] else ""
    lines = [
        f"run {run['id']} of {doc['name']} on {doc['target']}: {run['state']}{ended} "
        f"(started {run['started_at']}, updated {run['updated_at']})"
    ]
    if pool["exists"]:
        nodes = ", ".join(f"{k} {v}" for k, v in pool["nodes"].items()) or "no nodes"
        dedicated, spot = pool["dedicated_nodes"], pool["spot_nodes"]
        size = f"{dedicated['current']}/{dedicated['target']} dedicated"
        if spot["target"] or spot["current"]:
            size += f", {spot['current']}/{spot['target']} spot"
        lines.append(
            f"pool {pool['id']}: {pool['state']}, {pool['allocation_state']}, {size} ({nodes})"
        )
        lines += [f"  resize error: {e}" for e in pool["resize_errors"]]
    else:
        lines.append(f"pool {pool['id']}: does not exist")
    if "schedule" in doc:
        lines += schedule_lines(doc["schedule"])
    elif job["exists"]:
        times = ", ".join(f"{k} {job[k]}" for k in ("created", "ended") if job[k])
        why = f", {job['termination_reason']}" if job["termination_reason"] else ""
        lines.append(f"job {job['id']}: {job['state']}{why} ({times})")
        total = sum(tasks[k] for k in ("active", "running", "completed"))
        lines.append(
            f"tasks: {total} of {doc['planned_tasks']} added: {tasks['active']} waiting, "
            f"{tasks['running']} running, {tasks['completed']} completed "
            f"({tasks['succeeded']} succeeded, {tasks['failed']} failed)"
        )
    else:
        lines.append(f"job {job['id']}: does not exist")
    # (a scheduled spec has no job of its own: `schedule` lists the jobs it made)
    for failed in doc["failed_tasks"]:
        code = "no exit code" if failed["exit_code"] is None else f"exit code {failed['exit_code']}"
        info = f"; {failed['failure']}" if failed["failure"] else ""
        lines.append(f"  failed: {failed['id']}: {code}{info}")
    lines += [f"  waiting: {reason}" for reason in doc["waiting"]]
    for node_task in doc.get("node_tasks", []):
        lines.append(f"  job {node_task['kind']} task on {describe(NodeTaskState(**node_task))}")
    owned = [f"{r['kind']} {r['name']}" for r in doc["resources"] if r["status"] != "found"]
    found = [f"{r['kind']} {r['name']}" for r in doc["resources"] if r["status"] == "found"]
    lines.append(f"this run created: {', '.join(owned) or 'nothing'}")
    if found:
        lines.append(f"found existing (never deleted by it): {', '.join(found)}")
    return "\n".join(lines)
