"""`batchspec logs SPEC [TASK...]`: the output files of a run's tasks, or of its nodes' StartTask.

The run is the one apply would continue or last finished (`batchspec.live.context`); its files
are read from Batch (`batchspec.live.logs`), redacted like everything batchspec prints.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from batchspec.errors import EXIT_NO_RUN, EXIT_USAGE
from batchspec.live.context import (
    DATA_DIR_OPTION,
    SPEC_ARGUMENT,
    TARGET_OPTION,
    VAR_OPTION,
    LiveError,
    clients,
    format_option,
    guarded,
    open_run,
)

if TYPE_CHECKING:
    from azure.batch import BatchClient

    from batchspec.live.logs import LogFile

MAX_FOLLOWED = 20
HELP_EPILOG = """\
\b
Exit codes:
  0    the files were shown (a file a task never wrote is noted, not an error)
  1    a service could not be reached or refused a request, or a TASK is not in the job
  2    the spec, a --var, an option or the target configuration is wrong
  3    no run of the spec on this target in this data directory, or its job is gone
"""


@click.command(name="logs", epilog=HELP_EPILOG)
@SPEC_ARGUMENT
@click.argument("names", nargs=-1, metavar="[TASK|NODE]...")
@click.option(
    "--file",
    "files",
    multiple=True,
    metavar="NAME",
    help="A file in the task directory (repeatable). Default: stdout.txt and stderr.txt.",
)
@click.option("--failed", is_flag=True, help="Only the tasks that failed.")
@click.option(
    "--follow",
    "-f",
    is_flag=True,
    help="Stream the output of running tasks until they end (stderr.txt to stderr).",
)
@click.option(
    "--start-task", is_flag=True, help="The StartTask's output on the pool's nodes (NODE...)."
)
@click.option(
    "--job-tasks",
    is_flag=True,
    help="The job preparation and release tasks' output on the nodes that ran them (NODE...).",
)
@click.option(
    "--poll",
    type=click.FloatRange(0.1, 60),
    default=1.0,
    show_default=True,
    help="Seconds between reads with --follow.",
)
@TARGET_OPTION
@VAR_OPTION
@DATA_DIR_OPTION
@format_option()
@click.pass_context
def command(
    ctx: click.Context,
    spec: Path,
    names: tuple[str, ...],
    files: tuple[str, ...],
    failed: bool,
    follow: bool,
    start_task: bool,
    job_tasks: bool,
    poll: float,
    target: str | None,
    variables: tuple[str, ...],
    data_dir: Path | None,
    fmt: str,
) -> None:
    """Show the stdout and stderr of the tasks of SPEC's run (all of them, or TASK...)."""
    with guarded(ctx):
        if follow and (fmt == "json" or start_task or job_tasks):
            raise LiveError(
                "--follow streams text lines of tasks: not with --format json, --start-task "
                "or --job-tasks",
                EXIT_USAGE,
            )
        if start_task and job_tasks:
            raise LiveError("choose one of --start-task and --job-tasks", EXIT_USAGE)
        run = open_run(spec, variables, target, data_dir)
        run.require_run()
        with clients(run.target) as (batch, _blobs):
            if job_tasks:
                code = _show_job_tasks(run.job_id, batch, names, files, fmt)
            else:
                pool_id = run.live_pool_id(batch) if start_task else run.pool_id
                code = _show(
                    run.job_id, pool_id, batch, names, files, failed, follow, start_task, poll, fmt
                )
        ctx.exit(code)


def _show(
    job_id: str,
    pool_id: str,
    batch: BatchClient,
    names: tuple[str, ...],
    files: tuple[str, ...],
    failed: bool,
    follow: bool,
    start_task: bool,
    poll: float,
    fmt: str,
) -> int:
    from azure.core.exceptions import ResourceNotFoundError

    from batchspec.live import logs

    try:
        if start_task:
            shown = logs.read_start_task_files(
                batch, pool_id, names, files or logs.START_TASK_FILES
            )
            return _print(shown, "node", fmt)
        tasks = logs.select_tasks(batch, job_id, names, failed=failed)
    except ResourceNotFoundError:
        what = f"pool {pool_id}" if start_task else f"job {job_id}"
        raise LiveError(f"{what} of this run is gone (deleted by clean-up?)", EXIT_NO_RUN) from None
    except logs.LogsError as exc:
        raise LiveError(str(exc)) from None
    if not tasks:
        click.echo("no failed task" if failed else f"job {job_id} has no task", err=True)
        return 0
    names_shown = files or logs.STD_FILES
    if follow and len(tasks) > MAX_FOLLOWED:
        raise LiveError(
            f"--follow reads each task's files at every poll: name at most {MAX_FOLLOWED} "
            f"tasks (this selects {len(tasks)})",
            EXIT_USAGE,
        )
    if not follow:
        return _print(logs.read_task_files(batch, job_id, tasks, names_shown), "task", fmt)
    several_tasks = len(tasks) > 1
    several_files = len(names_shown) > 1 and bool(files)

    def write(task_id: str, name: str, line: str) -> None:
        # Without --file, a task's stderr.txt goes to stderr, as if the task ran here.
        prefix = f"[{task_id}] " if several_tasks else ""
        prefix += f"[{name}] " if several_files else ""
        click.echo(prefix + line, err=not files and name == "stderr.txt")

    follower = logs.Follower(batch, job_id, write, lambda s: click.echo(s, err=True), poll)
    why = follower.follow([t.id for t in tasks], names_shown)
    click.echo(f"logs: {why}", err=True)
    return 0


def _show_job_tasks(
    job_id: str, batch: BatchClient, nodes: tuple[str, ...], files: tuple[str, ...], fmt: str
) -> int:
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

    from batchspec.live import logs

    try:
        shown = logs.read_job_task_files(batch, job_id, nodes, files or logs.STD_FILES)
    except ResourceNotFoundError:
        raise LiveError(f"job {job_id} of this run is gone", EXIT_NO_RUN) from None
    except HttpResponseError as exc:
        if (
            exc.error is not None
            and exc.error.code == "JobPreparationTaskOrReleaseTaskNotSpecified"
        ):
            raise LiveError(f"job {job_id} has no preparation or release task") from None
        raise
    except logs.LogsError as exc:
        raise LiveError(str(exc)) from None
    if not shown:
        click.echo(f"no node has run the preparation task of job {job_id} yet", err=True)
    return _print(shown, "node", fmt)


def _print(files: list[LogFile], kind: str, fmt: str) -> int:
    if fmt == "json":
        click.echo(json.dumps({"files": [f.as_json(kind) for f in files]}, indent=2))
        return 0
    for item in files:
        click.echo(f"==> {kind} {item.owner}: {item.name} <==")
        if item.text is None:
            click.echo(f"({item.note})")
        elif item.text:
            click.echo(item.text, nl=not item.text.endswith("\n"))
        else:
            click.echo("(empty)")
    return 0
