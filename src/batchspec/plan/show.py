"""A Plan for people (text) and for programs (JSON), streamed task by task.

Command lines are printed exactly as Batch receives them: never wrapped, never styled. Resource
files that come from the spec's containers are shown as URL placeholders with the SAS token
redacted, because the real URLs are only signed at apply time, for one target. Any other value
that holds a secret (a SAS signature or an account key pasted into a command line, an
environment value or a var) is redacted too: a plan is printed, logged and shared.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote as url_quote

from rich.console import Console

from batchspec.plan import azure_pool_show
from batchspec.plan.containers import describe_registry, describe_settings
from batchspec.plan.model import (
    ContainerConfigurationPlan,
    ContainerSettingsPlan,
    ExitConditionsPlan,
    ExitOptionsPlan,
    JobManagerPlan,
    JobPreparationPlan,
    JobReleasePlan,
    OutputPlan,
    Plan,
    PoolPlan,
    RegistryPlan,
    ResourceFilePlan,
    SchedulePlan,
    StartTaskPlan,
    TaskPlan,
)
from batchspec.plan.show_listings import listing_lines, listings_json, run_line
from batchspec.plan.variables import var_text
from batchspec.redact import redact
from batchspec.sizes import human_size
from batchspec.spec.durations import format_duration

# Every secret `redact` removes has one of these in it (lower-cased); a value without any is
# passed through unscanned, which keeps a plan of 100,000 tasks from spending most of its
# time in redaction. (A plan registers no secrets of its own with `register_secret`.)
_SECRET_MARKERS = ("sig", "accountkey", "sharedkey", "bearer")


def _clean(text: str) -> str:
    """`text` with any secret in it redacted."""
    lowered = text.lower()
    return redact(text) if any(m in lowered for m in _SECRET_MARKERS) else text


ACCOUNT_URL = "https://<account>.blob.core.windows.net"
SAS_PLACEHOLDER = "<SAS redacted>"
JSON_FORMAT_VERSION = 1


def resource_url(plan: Plan, rf: ResourceFilePlan) -> str:
    """Where Batch will fetch a resource file from, with the SAS left out."""
    if rf.url is not None:
        return redact(rf.url)
    assert rf.container is not None
    base = f"{ACCOUNT_URL}/{plan.container_name(rf.container)}"
    if rf.blob is not None:
        return f"{base}/{url_quote(rf.blob, safe='/~')}?{SAS_PLACEHOLDER}"
    return f"{base}?{SAS_PLACEHOLDER}"


def _local(plan: Plan, path: Path) -> str:
    """A path relative to the spec's directory when it is inside it."""
    relative = os.path.relpath(path, plan.spec_path.parent)
    return path.as_posix() if relative.startswith("..") else Path(relative).as_posix()


# --- text -------------------------------------------------------------------------------------


def write_text(plan: Plan, out: TextIO) -> None:
    """The plan as text; tasks are written one by one, so any number of them fits in memory."""
    console = Console(file=out, highlight=False, markup=False, soft_wrap=True, emoji=False)

    def heading(text: str) -> None:
        console.print(_clean(text), style="bold")

    def line(text: str) -> None:
        console.print(_clean(text), style=None)

    where = os.path.relpath(plan.spec_path)
    line(f"Plan for {plan.name} ({plan.spec_path if where.startswith('..') else where})")
    line(f"  run {plan.run.id} on {plan.run.date}; spec digest {plan.spec_digest[:16]}")
    if run_line(plan) is not None:
        line(run_line(plan) or "")
    if plan.vars:
        line("  vars: " + ", ".join(f"{k}={var_text(v)}" for k, v in plan.vars))
    heading(f"\nContainers ({len(plan.containers)})")
    for container in plan.containers:
        line(f"  {container.key}: {container.name}")
    total = sum(u.size for u in plan.uploads)
    heading(f"\nUploads ({len(plan.uploads)} files, {human_size(total)})")
    for upload in plan.uploads:
        target = f"{plan.container_name(upload.container)}/{upload.blob}"
        line(f"  {_local(plan, upload.source)} -> {target} ({human_size(upload.size)})")
    pool = plan.pool
    image = pool.image
    if pool.existing:
        heading(f"\nPool {pool.id}: existing, not managed by this spec")
        line("  the job runs on it; apply never creates, resizes, updates or deletes it")
    else:
        if pool.lifetime == "job":
            heading(f"\nPool {pool.id}_<GUID>: auto pool, lifetime job")
            line("  Batch creates it with the job and deletes it when the job ends")
        else:
            heading(f"\nPool {pool.id}")
        for text in _pool_size_lines(pool):
            line(text)
        line(f"  {pool.task_slots_per_node} task slot(s) per node")
        if pool.inter_node_communication:
            line("  inter-node communication enabled")
        line(f"  image {image.publisher}/{image.offer}/{image.sku}/{image.version}")
        line(f"  node agent {image.node_agent_sku_id} ({pool.os_family})")
    if pool.container_configuration is not None:
        for text in _container_configuration_lines(pool.container_configuration):
            line(text)
    if pool.start_task is not None:
        for text in _start_task_lines(plan, pool.start_task):
            line(text)
    for text in azure_pool_show.pool_lines(plan):
        line(text)
    job = plan.job
    if plan.schedule is not None:
        heading(f"\nSchedule {job.id}")
        line(f"  {_describe_schedule(plan.schedule)}")
        line(f"  each job is {job.id}:job-<n> and runs the job manager task")
    heading(f"\nJob {job.id}" if plan.schedule is None else "\nEach scheduled job")
    timeout = "none" if job.timeout_seconds is None else format_duration(job.timeout_seconds)
    line(f"  timeout {timeout}; priority {job.priority}; task retries {job.max_task_retries}")
    line(f"  task dependencies: {'yes' if job.uses_task_dependencies else 'no'}")
    if job.on_all_tasks_complete != "noaction" or job.on_task_failure != "noaction":
        line(
            f"  on all tasks complete: {job.on_all_tasks_complete}; "
            f"on task failure: {job.on_task_failure}"
        )
    for name, value in job.environment:
        line(f"  env {name}={value}")
    for text in _job_task_lines(plan, job.preparation, job.release):
        line(text)
    if job.manager is not None:
        ends = "ends the job" if job.manager.kill_job_on_completion else "leaves the job active"
        line(f"  job manager task (when it completes, it {ends}):")
        for text in _task_lines(plan, job.manager.task):
            line(f"  {text}")
    if plan.schedule is not None:
        heading("\nClean-up")
        line("  none: the schedule's jobs need the pool and containers after apply returns;")
        line("  `batchspec destroy` deletes the schedule and its jobs, then what this spec created")
        return
    if plan.listings:
        heading(f"\nTasks from blobs in storage ({len(plan.listings)} template(s))")
        for text in listing_lines(plan, _task_lines):
            line(text)
    heading(f"\nTasks ({len(plan.tasks):,})")
    for task in plan.tasks:
        out.write(_clean("".join(f"{text}\n" for text in _task_lines(plan, task))))
    heading(f"\nDownloads ({len(plan.downloads)})")
    for download in plan.downloads:
        source = plan.container_name(download.container) + "/" + download.prefix
        mode = "overwrite" if download.overwrite else "keep existing files"
        line(f"  {source}* -> {_local(plan, download.to)}/ ({mode})")
    cleanup = plan.cleanup
    heading("\nClean-up")
    line(f"  containers: {cleanup.containers}; job: {cleanup.job}; pool: {cleanup.pool}")
    failed = cleanup.on_failure
    line(f"  on failure: containers: {failed.containers}; job: {failed.job}; pool: {failed.pool}")


def _start_task_lines(plan: Plan, start: StartTaskPlan) -> Iterator[str]:
    flags = [
        "elevated" if start.elevated else "not elevated",
        "waits for success" if start.wait_for_success else "does not wait",
        f"retries {start.max_retries}",
    ]
    yield f"  start task ({', '.join(flags)})"
    yield f"    command line: {start.command_line}"
    if start.container_settings is not None:
        yield f"    container: {describe_settings(start.container_settings)}"
    for rf in start.resource_files:
        yield f"    resource file: {_describe_resource(plan, rf)}"
    for name, value in start.environment:
        yield f"    env {name}={value}"


def _describe_schedule(schedule: SchedulePlan) -> str:
    start = "now" if schedule.start is None else schedule.start
    every = "once" if schedule.every_seconds is None else format_duration(schedule.every_seconds)
    parts = [f"first job: {start}", f"every: {every}", f"until: {schedule.until or 'none'}"]
    if schedule.start_window_seconds is not None:
        parts.append(f"start window: {format_duration(schedule.start_window_seconds)}")
    return "; ".join(parts)


def _schedule_json(schedule: SchedulePlan | None) -> dict[str, Any] | None:
    if schedule is None:
        return None
    return {
        "start": schedule.start,
        "every_seconds": schedule.every_seconds,
        "until": schedule.until,
        "start_window_seconds": schedule.start_window_seconds,
    }


def _manager_json(plan: Plan, manager: JobManagerPlan | None) -> dict[str, Any] | None:
    if manager is None:
        return None
    return {
        **task_json(plan, manager.task),
        "kill_job_on_completion": manager.kill_job_on_completion,
    }


def _limit(seconds: int | None, default: str) -> str:
    return default if seconds is None else format_duration(seconds)


def _job_task_lines(
    plan: Plan, prep: JobPreparationPlan | None, release: JobReleasePlan | None
) -> Iterator[str]:
    if prep is not None:
        flags = [
            "elevated" if prep.elevated else "not elevated",
            "tasks wait for success" if prep.wait_for_success else "tasks do not wait",
            f"retries {prep.max_retries}",
            f"max wall clock {_limit(prep.max_wall_clock_seconds, 'none')}",
            f"retention {_limit(prep.retention_seconds, '7d (default)')}",
            "reruns after a reboot"
            if prep.rerun_on_node_reboot_after_success
            else "not rerun after a reboot",
        ]
        yield f"  preparation task jobpreparation ({', '.join(flags)})"
        yield f"    command line: {prep.command_line}"
        for rf in prep.resource_files:
            yield f"    resource file: {_describe_resource(plan, rf)}"
        for name, value in prep.environment:
            yield f"    env {name}={value}"
    if release is not None:
        flags = [
            "elevated" if release.elevated else "not elevated",
            f"max wall clock {_limit(release.max_wall_clock_seconds, '15m (default)')}",
            f"retention {_limit(release.retention_seconds, '7d (default)')}",
        ]
        yield f"  release task jobrelease ({', '.join(flags)})"
        yield f"    command line: {release.command_line}"
        for rf in release.resource_files:
            yield f"    resource file: {_describe_resource(plan, rf)}"
        for name, value in release.environment:
            yield f"    env {name}={value}"


def _container_configuration_lines(config: ContainerConfigurationPlan) -> Iterator[str]:
    yield f"  containers: {config.type}"
    for name in config.image_names:
        yield f"    prefetch image: {name}"
    for registry in config.registries:
        yield f"    registry: {describe_registry(registry)}"


def _describe_resource(plan: Plan, rf: ResourceFilePlan) -> str:
    text = resource_url(plan, rf)
    if rf.prefix:
        text += f" (blobs under {rf.prefix!r})"
    return f"{text} -> {rf.file_path or '.'}"


def _describe_output(plan: Plan, output: OutputPlan) -> str:
    target = f"{plan.container_name(output.container)}/{output.path or ''}"
    return f"{output.pattern} -> {target} (on {output.when})"


def _task_lines(plan: Plan, task: TaskPlan) -> Iterator[str]:
    yield f"  {task.id}" + ("" if task.display_name is None else f" ({task.display_name})")
    yield f"    command line: {task.command_line}"
    if task.container_settings is not None:
        yield f"    container: {describe_settings(task.container_settings)}"
    multi = task.multi_instance
    if multi is not None:
        yield f"    multi-instance: {multi.instances} nodes (the primary and subtasks)"
        yield f"    coordination command line: {multi.coordination_command_line}"
        for rf in multi.common_resource_files:
            yield f"    common resource file: {_describe_resource(plan, rf)}"
    for rf in task.resource_files:
        yield f"    resource file: {_describe_resource(plan, rf)}"
    for name, value in task.environment:
        yield f"    env {name}={value}"
    for output in task.outputs:
        yield f"    output: {_describe_output(plan, output)}"
    limits = [f"retries {task.max_retries}"]
    if task.max_wall_clock_seconds is not None:
        limits.append(f"max wall clock {format_duration(task.max_wall_clock_seconds)}")
    if task.elevated:
        limits.append("elevated")
    if task.required_slots != 1:
        limits.append(f"{task.required_slots} slots")
    yield f"    {'; '.join(limits)}"
    if task.depends_on:
        yield f"    depends on: {', '.join(task.depends_on)}"
    if task.depends_on_ranges:
        ranges = ", ".join(f"{start}-{end}" for start, end in task.depends_on_ranges)
        yield f"    depends on the task id ranges: {ranges}"
    if task.exit_conditions is not None:
        for label, options in exit_entries(task.exit_conditions):
            yield f"    on {label}: {_describe_exit(options)}"


def exit_entries(
    conditions: ExitConditionsPlan,
) -> Iterator[tuple[str, ExitOptionsPlan]]:
    """(label, options) for each way of ending the conditions name, in Batch's match order."""
    for code, options in conditions.exit_codes:
        yield f"exit code {code}", options
    for start, end, options in conditions.exit_code_ranges:
        yield f"exit codes {start}-{end}", options
    for label, found in (
        ("pre-processing error", conditions.pre_processing_error),
        ("file upload error", conditions.file_upload_error),
        ("any other ending", conditions.default),
    ):
        if found is not None:
            yield label, found


def _describe_exit(options: ExitOptionsPlan) -> str:
    job = options.job_action or "Batch's default"
    dependency = options.dependency_action or "Batch's default"
    return f"job action {job}; dependency action {dependency}"


def _options_json(options: ExitOptionsPlan | None) -> dict[str, Any] | None:
    if options is None:
        return None
    return {"job_action": options.job_action, "dependency_action": options.dependency_action}


def _exit_json(conditions: ExitConditionsPlan | None) -> dict[str, Any] | None:
    if conditions is None:
        return None
    return {
        "exit_codes": [{"code": c, **(_options_json(o) or {})} for c, o in conditions.exit_codes],
        "exit_code_ranges": [
            {"start": s, "end": e, **(_options_json(o) or {})}
            for s, e, o in conditions.exit_code_ranges
        ],
        "pre_processing_error": _options_json(conditions.pre_processing_error),
        "file_upload_error": _options_json(conditions.file_upload_error),
        "default": _options_json(conditions.default),
    }


# --- JSON -------------------------------------------------------------------------------------


def _resource_json(plan: Plan, rf: ResourceFilePlan) -> dict[str, Any]:
    kind = "url" if rf.url is not None else "blob" if rf.blob is not None else "container"
    return {
        "kind": kind,
        "container": rf.container,
        "container_name": None if rf.container is None else plan.container_name(rf.container),
        "blob": rf.blob,
        "prefix": rf.prefix,
        "url": resource_url(plan, rf),
        "file_path": rf.file_path,
        "file_mode": rf.file_mode,
    }


PASSWORD_PLACEHOLDER = "<redacted: read from ${name} by apply>"


def _registry_json(registry: RegistryPlan) -> dict[str, Any]:
    """A registry as Batch receives it; never the password, only where it comes from."""
    password = None
    if registry.password_env is not None:
        password = PASSWORD_PLACEHOLDER.replace("{name}", registry.password_env)
    return {
        "registry_server": registry.server,
        "username": registry.username,
        "password": password,
        "password_env": registry.password_env,
        "identity_reference": None
        if registry.identity_resource_id is None
        else {"resource_id": registry.identity_resource_id},
    }


def _container_settings_json(settings: ContainerSettingsPlan | None) -> dict[str, Any] | None:
    if settings is None:
        return None
    return {
        "image_name": settings.image_name,
        "container_run_options": settings.run_options,
        "working_directory": settings.working_directory,
        "registry": None if settings.registry is None else _registry_json(settings.registry),
        "container_host_batch_bind_mounts": None
        if settings.mounts is None
        else [{"source": m.source, "is_read_only": m.read_only} for m in settings.mounts],
    }


def _container_configuration_json(config: ContainerConfigurationPlan | None) -> Any:
    if config is None:
        return None
    return {
        "type": config.type,
        "container_image_names": list(config.image_names),
        "container_registries": [_registry_json(r) for r in config.registries],
    }


def _preparation_json(plan: Plan, prep: JobPreparationPlan | None) -> dict[str, Any] | None:
    if prep is None:
        return None
    return {
        "command_line": prep.command_line,
        "resource_files": [_resource_json(plan, rf) for rf in prep.resource_files],
        "environment": dict(prep.environment),
        "elevated": prep.elevated,
        "wait_for_success": prep.wait_for_success,
        "max_retries": prep.max_retries,
        "max_wall_clock_seconds": prep.max_wall_clock_seconds,
        "retention_seconds": prep.retention_seconds,
        "rerun_on_node_reboot_after_success": prep.rerun_on_node_reboot_after_success,
    }


def _release_json(plan: Plan, release: JobReleasePlan | None) -> dict[str, Any] | None:
    if release is None:
        return None
    return {
        "command_line": release.command_line,
        "resource_files": [_resource_json(plan, rf) for rf in release.resource_files],
        "environment": dict(release.environment),
        "elevated": release.elevated,
        "max_wall_clock_seconds": release.max_wall_clock_seconds,
        "retention_seconds": release.retention_seconds,
    }


def task_json(plan: Plan, task: TaskPlan) -> dict[str, Any]:
    """One task as a JSON-ready mapping."""
    return {
        "id": task.id,
        "command_line": task.command_line,
        "resource_files": [_resource_json(plan, rf) for rf in task.resource_files],
        "environment": dict(task.environment),
        "outputs": [
            {
                "pattern": o.pattern,
                "container": o.container,
                "container_name": plan.container_name(o.container),
                "path": o.path,
                "when": o.when,
            }
            for o in task.outputs
        ],
        "max_retries": task.max_retries,
        "max_wall_clock_seconds": task.max_wall_clock_seconds,
        "depends_on": list(task.depends_on),
        "elevated": task.elevated,
        "display_name": task.display_name,
        "required_slots": task.required_slots,
        "depends_on_ranges": [{"start": s, "end": e} for s, e in task.depends_on_ranges],
        "exit_conditions": _exit_json(task.exit_conditions),
        "container_settings": _container_settings_json(task.container_settings),
        "multi_instance": None
        if task.multi_instance is None
        else {
            "instances": task.multi_instance.instances,
            "coordination_command_line": task.multi_instance.coordination_command_line,
            "common_resource_files": [
                _resource_json(plan, rf) for rf in task.multi_instance.common_resource_files
            ],
        },
    }


def _pool_size_lines(pool: PoolPlan) -> list[str]:
    if pool.autoscale is None:
        return [
            f"  vm size {pool.vm_size}; {pool.dedicated_nodes} dedicated, {pool.spot_nodes} spot"
        ]
    every = format_duration(pool.autoscale.interval_seconds)
    lines = [f"  vm size {pool.vm_size}; autoscale, evaluated every {every}:"]
    return lines + [f"    {text}" for text in pool.autoscale.formula.strip().splitlines()]


def plan_header_json(plan: Plan) -> dict[str, Any]:
    """Everything but the tasks, as a JSON-ready mapping."""
    start = plan.pool.start_task
    image = plan.pool.image
    return {
        "format": JSON_FORMAT_VERSION,
        "name": plan.name,
        "spec_path": str(plan.spec_path),
        "spec_digest": plan.spec_digest,
        "run": {"id": plan.run.id, "date": plan.run.date},
        "vars": dict(plan.vars),
        "containers": [{"key": c.key, "name": c.name} for c in plan.containers],
        "uploads": [
            {
                "source": str(u.source),
                "container": u.container,
                "container_name": plan.container_name(u.container),
                "blob": u.blob,
                "size": u.size,
            }
            for u in plan.uploads
        ],
        "pool": {
            "id": plan.pool.id,
            "vm_size": plan.pool.vm_size,
            "dedicated_nodes": plan.pool.dedicated_nodes,
            "spot_nodes": plan.pool.spot_nodes,
            "task_slots_per_node": plan.pool.task_slots_per_node,
            "inter_node_communication": plan.pool.inter_node_communication,
            "os_family": plan.pool.os_family,
            "image": {
                "publisher": image.publisher,
                "offer": image.offer,
                "sku": image.sku,
                "version": image.version,
                "node_agent_sku_id": image.node_agent_sku_id,
            },
            "start_task": None
            if start is None
            else {
                "command_line": start.command_line,
                "resource_files": [_resource_json(plan, rf) for rf in start.resource_files],
                "environment": dict(start.environment),
                "elevated": start.elevated,
                "wait_for_success": start.wait_for_success,
                "max_retries": start.max_retries,
                "container_settings": _container_settings_json(start.container_settings),
            },
            "container_configuration": _container_configuration_json(
                plan.pool.container_configuration
            ),
            "lifetime": plan.pool.lifetime,
            "existing": plan.pool.existing,
            "autoscale": None
            if plan.pool.autoscale is None
            else {
                "formula": plan.pool.autoscale.formula,
                "interval_seconds": plan.pool.autoscale.interval_seconds,
            },
            **azure_pool_show.pool_json(plan, plan.pool),
        },
        "job": {
            "id": plan.job.id,
            "timeout_seconds": plan.job.timeout_seconds,
            "priority": plan.job.priority,
            "max_task_retries": plan.job.max_task_retries,
            "uses_task_dependencies": plan.job.uses_task_dependencies,
            "environment": dict(plan.job.environment),
            "on_all_tasks_complete": plan.job.on_all_tasks_complete,
            "on_task_failure": plan.job.on_task_failure,
            "preparation": _preparation_json(plan, plan.job.preparation),
            "release": _release_json(plan, plan.job.release),
            "manager": _manager_json(plan, plan.job.manager),
        },
        "schedule": _schedule_json(plan.schedule),
        "downloads": [
            {
                "container": d.container,
                "container_name": plan.container_name(d.container),
                "to": str(d.to),
                "prefix": d.prefix,
                "overwrite": d.overwrite,
            }
            for d in plan.downloads
        ],
        "cleanup": {
            "containers": plan.cleanup.containers,
            "job": plan.cleanup.job,
            "pool": plan.cleanup.pool,
            "on_failure": {
                "containers": plan.cleanup.on_failure.containers,
                "job": plan.cleanup.on_failure.job,
                "pool": plan.cleanup.on_failure.pool,
            },
        },
        "task_count": len(plan.tasks),
        "listings": listings_json(plan, task_json),
    }


def _redacted(value: Any) -> Any:
    """`value` with every string in it redacted (before encoding: JSON escapes hide secrets)."""
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, dict):
        return {_redacted(k): _redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return value


def _task_document(plan: Plan, task: TaskPlan, ensure_ascii: bool) -> str:
    data = task_json(plan, task)
    text = json.dumps(data, ensure_ascii=ensure_ascii)
    # One scan of the encoded task finds any secret; only then is each string redacted.
    if _clean(text) != text:
        text = json.dumps(_redacted(data), ensure_ascii=ensure_ascii)
    return text


def write_json(plan: Plan, out: TextIO, *, ensure_ascii: bool = False) -> None:
    """The plan as one JSON document; `tasks` comes last, one task per line, streamed.

    `ensure_ascii` writes non-ASCII characters as \\u escapes, for outputs that cannot
    encode them.
    """
    header = json.dumps(_redacted(plan_header_json(plan)), indent=2, ensure_ascii=ensure_ascii)
    out.write(header[:-2] + ',\n  "tasks": [')
    separator = "\n    "
    for task in plan.tasks:
        out.write(separator + _task_document(plan, task, ensure_ascii))
        separator = ",\n    "
    out.write("\n  ]\n}\n")
