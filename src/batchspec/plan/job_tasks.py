"""The job's preparation and release tasks, rendered as Batch will receive them.

Both run per node, outside the task list: the preparation task before the job's first task on
a node, the release task when the job ends, on each node that ran the preparation task. Their
templates see what the job's own settings see (`vars`, `spec`, `run`, `containers`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from batchspec.plan.model import JobPreparationPlan, JobReleasePlan, ResourceFilePlan
from batchspec.plan.tasks import (
    check_commands,
    compile_resource_files,
    render_resource_files,
    wrap,
)
from batchspec.spec.document import JsonPath
from batchspec.spec.model import (
    CommandSpec,
    JobPreparationSpec,
    JobReleaseSpec,
    JobSpec,
    ResourceFileSpec,
)
from batchspec.spec.render import Renderer

RELEASE_MAX_WALL_CLOCK_SECONDS = 15 * 60
"""Batch refuses a job release task allowed more than 15 minutes (400 Bad Request)."""


def render_command(
    renderer: Renderer, run: CommandSpec, context: Mapping[str, Any], windows: bool
) -> str | None:
    """The command line Batch runs: `command` rendered, or `commands` rendered and wrapped."""
    check_commands(renderer, run, windows)
    if run.commands is not None:
        lines = [
            renderer.render(c, context) if c is not None else None
            for c in (renderer.compile(s, (*run.where, i)) for i, s in enumerate(run.commands))
        ]
        return None if None in lines else wrap([x or "" for x in lines], windows)
    compiled = renderer.compile(run.command or "", run.where)
    return None if compiled is None else renderer.render(compiled, context)


def _environment(
    renderer: Renderer,
    pairs: Sequence[tuple[str, str]],
    owner: JsonPath,
    context: Mapping[str, Any],
) -> tuple[tuple[str, str], ...] | None:
    out = []
    for name, value in pairs:
        compiled = renderer.compile(value, (*owner, "environment", name))
        rendered = None if compiled is None else renderer.render(compiled, context)
        if rendered is None:
            return None
        out.append((name, rendered))
    return tuple(out)


def _files(
    renderer: Renderer, files: Sequence[ResourceFileSpec], context: Mapping[str, Any]
) -> tuple[ResourceFilePlan, ...] | None:
    compiled = compile_resource_files(renderer, files)
    return None if compiled is None else render_resource_files(renderer, compiled, context)


def check_job_tasks(renderer: Renderer, job: JobSpec) -> None:
    """What the schema cannot say: a release needs a preparation, and at most 15 minutes."""
    release = job.release
    if release is None:
        return
    if job.preparation is None:
        renderer.report(
            release.where,
            "a release task needs a preparation task (Batch runs it on the nodes that ran "
            "job.preparation, and refuses a release task without one); add "
            "job.preparation, e.g. `preparation: {command: /bin/true}`",
        )
    wall = release.max_wall_clock_seconds
    if wall is not None and wall > RELEASE_MAX_WALL_CLOCK_SECONDS:
        renderer.report(
            (*release.where, "max_wall_clock"),
            f"a release task may run at most 15m ({RELEASE_MAX_WALL_CLOCK_SECONDS}s), not "
            f"{wall}s: Batch refuses a longer one",
        )


def _rendered(
    renderer: Renderer,
    task: JobPreparationSpec | JobReleaseSpec,
    context: Mapping[str, Any],
    windows: bool,
) -> tuple[str, tuple[ResourceFilePlan, ...], tuple[tuple[str, str], ...]] | None:
    """A job task's command line, resource files and environment; None if any did not render."""
    command = render_command(renderer, task.run, context, windows)
    env = _environment(renderer, task.environment, task.where, context)
    files = _files(renderer, task.resource_files, context)
    if command is None or env is None or files is None:
        return None
    return command, files, env


def plan_preparation(
    renderer: Renderer, job: JobSpec, context: Mapping[str, Any], windows: bool
) -> JobPreparationPlan | None:
    """The rendered preparation task, or None when the job has none or it did not render."""
    prep = job.preparation
    if prep is None:
        return None
    parts = _rendered(renderer, prep, context, windows)
    if parts is None:
        return None
    command, files, env = parts
    return JobPreparationPlan(
        command_line=command,
        resource_files=files,
        environment=env,
        elevated=prep.elevated,
        wait_for_success=prep.wait_for_success,
        max_retries=prep.retries,
        max_wall_clock_seconds=prep.max_wall_clock_seconds,
        retention_seconds=prep.retention_seconds,
        rerun_on_node_reboot_after_success=prep.rerun_on_node_reboot_after_success,
    )


def plan_release(
    renderer: Renderer, job: JobSpec, context: Mapping[str, Any], windows: bool
) -> JobReleasePlan | None:
    """The rendered release task, or None when the job has none or it did not render."""
    release = job.release
    if release is None:
        return None
    parts = _rendered(renderer, release, context, windows)
    if parts is None:
        return None
    command, files, env = parts
    return JobReleasePlan(
        command_line=command,
        resource_files=files,
        environment=env,
        elevated=release.elevated,
        max_wall_clock_seconds=release.max_wall_clock_seconds,
        retention_seconds=release.retention_seconds,
    )


def job_task_files(job: JobSpec) -> list[ResourceFileSpec]:
    """The resource files of the preparation and release tasks (for container checks)."""
    files: list[ResourceFileSpec] = []
    for owner in (job.preparation, job.release):
        if owner is not None:
            files += owner.resource_files
    return files
