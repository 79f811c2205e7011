"""The spec as typed, immutable records, built from data the JSON Schema has accepted.

Strings that may hold templates stay as their source text here; `batchspec.spec.render`
compiles them. Every record remembers its JSON path (`where`) so later checks can point at
the line and column the user wrote.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from batchspec.spec.azure_pool import (
    IdentitySpec,
    NetworkSpec,
    PoolMountSpec,
    identity_from_data,
    mounts_from_data,
    network_from_data,
)
from batchspec.spec.document import JsonPath
from batchspec.spec.durations import parse_duration
from batchspec.spec.exit_conditions import (
    ExitConditionsSpec,
    TaskIdRange,
    exit_conditions_from_data,
)

VarValue = str | int | float | bool
UploadCondition = Literal["success", "failure", "completion"]
CleanupAction = Literal["delete", "keep"]
AllTasksCompleteAction = Literal["no_action", "terminate_job"]
TaskFailureAction = Literal["no_action", "perform_exit_options_job_action"]
ContainerType = Literal["docker_compatible", "cri_compatible"]
WorkingDirectory = Literal["task", "image"]
MountSource = Literal["shared", "startup", "task", "job_prep", "applications", "vfs_mounts"]
PoolLifetime = Literal["pool", "job"]
DEFAULT_AUTOSCALE_INTERVAL = "15m"
"""Batch's default autoScaleEvaluationInterval."""


class SpecShapeError(ValueError):
    """The data lacks the shape the schema promises (build_plan was given unchecked data)."""

    def __init__(self, where: JsonPath, message: str) -> None:
        super().__init__(message)
        self.where = where
        self.message = message


@dataclass(frozen=True, slots=True)
class ContainerSpec:
    key: str
    name: str
    where: JsonPath


@dataclass(frozen=True, slots=True)
class UploadSpec:
    source: str
    container: str
    prefix: str
    where: JsonPath


@dataclass(frozen=True, slots=True)
class ResourceFileSpec:
    where: JsonPath
    container: str | None = None
    blob: str | None = None
    prefix: str | None = None
    url: str | None = None
    path: str | None = None


@dataclass(frozen=True, slots=True)
class OutputSpec:
    pattern: str
    container: str
    path: str
    when: UploadCondition
    where: JsonPath


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """Exactly one of `command` (one command line) or `commands` (a list wrapped for bash)."""

    command: str | None
    commands: tuple[str, ...] | None
    where: JsonPath


@dataclass(frozen=True, slots=True)
class RegistrySpec:
    """A private container registry: a user name and password variable, or an identity."""

    server: str | None
    username: str | None
    password_env: str | None
    identity: str | None
    where: JsonPath


@dataclass(frozen=True, slots=True)
class ContainerConfigurationSpec:
    type: ContainerType
    images: tuple[str, ...]
    registries: tuple[RegistrySpec, ...]
    where: JsonPath


@dataclass(frozen=True, slots=True)
class MountSpec:
    source: MountSource
    read_only: bool


@dataclass(frozen=True, slots=True)
class ContainerSettingsSpec:
    """A task's container; `image` and `run_options` are templates."""

    image: str
    run_options: str | None
    working_directory: WorkingDirectory
    registry: RegistrySpec | None
    mounts: tuple[MountSpec, ...] | None
    where: JsonPath


@dataclass(frozen=True, slots=True)
class StartTaskSpec:
    run: CommandSpec
    resource_files: tuple[ResourceFileSpec, ...]
    environment: tuple[tuple[str, str], ...]
    elevated: bool
    wait_for_success: bool
    retries: int
    where: JsonPath
    container_settings: ContainerSettingsSpec | None = None


@dataclass(frozen=True, slots=True)
class ImageSpec:
    publisher: str
    offer: str
    sku: str
    version: str
    node_agent: str


@dataclass(frozen=True, slots=True)
class AutoscaleSpec:
    """A formula that sizes the pool instead of fixed node counts."""

    formula: str
    interval_seconds: int
    where: JsonPath


@dataclass(frozen=True, slots=True)
class PoolSpec:
    id: str
    vm_size: str
    dedicated: int
    spot: int
    task_slots_per_node: int
    image: ImageSpec
    start_task: StartTaskSpec | None
    where: JsonPath
    container_configuration: ContainerConfigurationSpec | None = None
    lifetime: PoolLifetime = "pool"
    """`job`: an auto pool, created and deleted by Batch with the job; `id` is its prefix."""
    existing: bool = False
    """A pool the spec does not manage: only `id` is known; the other fields are empty."""
    autoscale: AutoscaleSpec | None = None
    """Sizes the pool instead of `dedicated` and `spot` (both 0 then)."""
    inter_node_communication: bool = False
    mounts: tuple[PoolMountSpec, ...] = ()
    network: NetworkSpec | None = None
    identity: IdentitySpec | None = None


@dataclass(frozen=True, slots=True)
class ContainerForeach:
    """One task per blob this spec uploads into `container` (optionally only names matching)."""

    container: str
    match: str | None
    where: JsonPath


@dataclass(frozen=True, slots=True)
class ItemsForeach:
    """One task per list item."""

    items: tuple[Any, ...]
    where: JsonPath


@dataclass(frozen=True, slots=True)
class SweepParameter:
    name: str
    values: tuple[VarValue, ...] | range
    where: JsonPath


@dataclass(frozen=True, slots=True)
class SweepForeach:
    """One task per point of the cartesian product of the parameters, in key order."""

    parameters: tuple[SweepParameter, ...]
    where: JsonPath


@dataclass(frozen=True, slots=True)
class FileForeach:
    """One task per row of a CSV file, or per item of a JSON or YAML list (read at plan time)."""

    file: str
    where: JsonPath


@dataclass(frozen=True, slots=True)
class ZipForeach:
    """One task per position of equally long value lists, taken side by side."""

    parameters: tuple[SweepParameter, ...]
    where: JsonPath


@dataclass(frozen=True, slots=True)
class RangeForeach:
    """One task per integer of a range; the item is the number."""

    values: range
    where: JsonPath


@dataclass(frozen=True, slots=True)
class BlobsForeach:
    """One task per blob already in `container` (a key) under `prefix`, listed when apply runs.

    `where` is the `blobs` mapping's path; `prefix` is a template (vars and spec only).
    """

    container: str
    prefix: str
    match: str | None
    where: JsonPath


Foreach = (
    ContainerForeach
    | ItemsForeach
    | SweepForeach
    | FileForeach
    | ZipForeach
    | RangeForeach
    | BlobsForeach
)


@dataclass(frozen=True, slots=True)
class MultiInstanceSpec:
    """A multi-instance (MPI) task: `instances` nodes, each running `coordination` first."""

    instances: int
    coordination: CommandSpec
    common_resource_files: tuple[ResourceFileSpec, ...]
    where: JsonPath


@dataclass(frozen=True, slots=True)
class TaskTemplate:
    id: str
    run: CommandSpec
    foreach: Foreach | None
    resource_files: tuple[ResourceFileSpec, ...]
    environment: tuple[tuple[str, str], ...]
    outputs: tuple[OutputSpec, ...]
    retries: int | None
    max_wall_clock_seconds: int | None
    depends_on: tuple[str, ...]
    elevated: bool
    where: JsonPath
    display_name: str | None = None
    required_slots: int = 1
    depends_on_ranges: tuple[TaskIdRange, ...] = ()
    exit_conditions: ExitConditionsSpec | None = None
    container_settings: ContainerSettingsSpec | None = None
    multi_instance: MultiInstanceSpec | None = None


@dataclass(frozen=True, slots=True)
class JobPreparationSpec:
    """Batch's job preparation task: run on each node before the job's first task there."""

    run: CommandSpec
    resource_files: tuple[ResourceFileSpec, ...]
    environment: tuple[tuple[str, str], ...]
    elevated: bool
    wait_for_success: bool
    retries: int
    max_wall_clock_seconds: int | None
    retention_seconds: int | None
    rerun_on_node_reboot_after_success: bool
    where: JsonPath


@dataclass(frozen=True, slots=True)
class JobReleaseSpec:
    """Batch's job release task: run when the job ends, where the preparation task ran."""

    run: CommandSpec
    resource_files: tuple[ResourceFileSpec, ...]
    environment: tuple[tuple[str, str], ...]
    elevated: bool
    max_wall_clock_seconds: int | None
    retention_seconds: int | None
    where: JsonPath


@dataclass(frozen=True, slots=True)
class JobManagerSpec:
    """Batch's job manager task: what each job of a schedule runs, as a task template."""

    task: TaskTemplate
    kill_job_on_completion: bool


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    """A recurrence instead of a single run (Batch's job schedule)."""

    start: str | None
    """A UTC time (`2026-12-02T02:00:00Z`), or None for now."""
    every_seconds: int | None
    until: str | None
    start_window_seconds: int | None
    where: JsonPath


@dataclass(frozen=True, slots=True)
class JobSpec:
    id: str
    timeout_seconds: int | None
    priority: int
    retries: int
    tasks: tuple[TaskTemplate, ...]
    where: JsonPath
    environment: tuple[tuple[str, str], ...] = ()
    resource_files: tuple[ResourceFileSpec, ...] = ()
    on_all_tasks_complete: AllTasksCompleteAction = "no_action"
    on_task_failure: TaskFailureAction = "no_action"
    preparation: JobPreparationSpec | None = None
    release: JobReleaseSpec | None = None
    manager: JobManagerSpec | None = None


@dataclass(frozen=True, slots=True)
class DownloadSpec:
    container: str
    to: str
    prefix: str
    overwrite: bool
    where: JsonPath


@dataclass(frozen=True, slots=True)
class CleanupSpec:
    containers: CleanupAction = "keep"
    job: CleanupAction = "delete"
    pool: CleanupAction = "keep"
    on_failure: tuple[CleanupAction, CleanupAction, CleanupAction] = ("keep", "keep", "keep")
    """containers, job, pool after a failed or interrupted run."""


@dataclass(frozen=True, slots=True)
class Spec:
    name: str
    description: str
    vars: tuple[tuple[str, VarValue], ...]
    containers: tuple[ContainerSpec, ...]
    uploads: tuple[UploadSpec, ...]
    pool: PoolSpec
    job: JobSpec
    downloads: tuple[DownloadSpec, ...]
    cleanup: CleanupSpec
    schedule: ScheduleSpec | None = None


def spec_from_data(data: Mapping[str, Any]) -> Spec:
    """Typed records from schema-valid data; raises SpecShapeError when the data is not."""
    try:
        return _spec(data)
    except SpecShapeError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SpecShapeError((), f"the spec does not match the schema ({exc})") from None


def uploads_from_data(data: Mapping[str, Any]) -> tuple[UploadSpec, ...]:
    """The spec's uploads (never templates), readable before the rest of the spec is typed."""
    return tuple(
        UploadSpec(u["source"], u["container"], u.get("prefix", ""), ("uploads", i))
        for i, u in enumerate(data.get("uploads", []))
    )


def _spec(data: Mapping[str, Any]) -> Spec:
    containers = tuple(
        ContainerSpec(key, str(value["name"]), ("containers", key, "name"))
        for key, value in data["containers"].items()
    )
    uploads = uploads_from_data(data)
    downloads = tuple(
        DownloadSpec(
            d["container"],
            d["to"],
            d.get("prefix", ""),
            bool(d.get("overwrite", False)),
            ("downloads", i),
        )
        for i, d in enumerate(data.get("downloads", []))
    )
    cleanup = data.get("cleanup", {})
    return Spec(
        name=data["name"],
        description=data.get("description", ""),
        vars=tuple((k, v) for k, v in data.get("vars", {}).items()),
        containers=containers,
        uploads=uploads,
        pool=_pool(data["pool"]),
        job=_job(data["job"]),
        downloads=downloads,
        cleanup=CleanupSpec(
            containers=cleanup.get("containers", "keep"),
            job=cleanup.get("job", "delete"),
            pool=cleanup.get("pool", "keep"),
            on_failure=(
                cleanup.get("on_failure", {}).get("containers", "keep"),
                cleanup.get("on_failure", {}).get("job", "keep"),
                cleanup.get("on_failure", {}).get("pool", "keep"),
            ),
        ),
        schedule=_schedule(data.get("schedule")),
    )


def _pool(pool: Mapping[str, Any]) -> PoolSpec:
    if "existing" in pool:
        return PoolSpec(
            id=str(pool["existing"]),
            vm_size="",
            dedicated=0,
            spot=0,
            task_slots_per_node=1,
            image=ImageSpec("", "", "", "", ""),
            start_task=None,
            where=("pool",),
            existing=True,
        )
    image = pool["image"]
    nodes = pool["nodes"]
    start = pool.get("start_task")
    where: JsonPath = ("pool", "start_task")
    start_task = None
    if start is not None:
        start_task = StartTaskSpec(
            run=_command(start, where),
            resource_files=_resource_files(start.get("resource_files", []), where),
            environment=tuple(start.get("environment", {}).items()),
            elevated=bool(start.get("elevated", False)),
            wait_for_success=bool(start.get("wait_for_success", True)),
            retries=int(start.get("retries", 0)),
            where=where,
            container_settings=_container_settings(start.get("container_settings"), where),
        )
    return PoolSpec(
        id=pool["id"],
        vm_size=pool["vm_size"],
        dedicated=int(nodes.get("dedicated", 0)),
        spot=int(nodes.get("spot", 0)),
        task_slots_per_node=int(pool.get("task_slots_per_node", 1)),
        image=ImageSpec(
            image["publisher"],
            image["offer"],
            image["sku"],
            image.get("version", "latest"),
            image["node_agent"],
        ),
        start_task=start_task,
        where=("pool",),
        container_configuration=_container_configuration(pool.get("container_configuration")),
        lifetime=pool.get("lifetime", "pool"),
        autoscale=_autoscale(nodes.get("autoscale")),
        inter_node_communication=bool(pool.get("inter_node_communication", False)),
        mounts=mounts_from_data(pool.get("mounts")),
        network=network_from_data(pool.get("network")),
        identity=identity_from_data(pool.get("identity")),
    )


def _autoscale(data: Mapping[str, Any] | None) -> AutoscaleSpec | None:
    if data is None:
        return None
    interval = str(data.get("interval", DEFAULT_AUTOSCALE_INTERVAL))
    return AutoscaleSpec(
        formula=str(data["formula"]),
        interval_seconds=parse_duration(interval),
        where=("pool", "nodes", "autoscale"),
    )


def _job(job: Mapping[str, Any]) -> JobSpec:
    timeout = job.get("timeout")
    return JobSpec(
        id=job["id"],
        timeout_seconds=None if timeout is None else parse_duration(timeout),
        priority=int(job.get("priority", 0)),
        retries=int(job.get("retries", 0)),
        tasks=tuple(_task(t, ("job", "tasks", i)) for i, t in enumerate(job.get("tasks", []))),
        where=("job",),
        environment=tuple(job.get("environment", {}).items()),
        resource_files=_resource_files(job.get("resource_files", []), ("job",)),
        on_all_tasks_complete=job.get("on_all_tasks_complete", "no_action"),
        on_task_failure=job.get("on_task_failure", "no_action"),
        preparation=_preparation(job.get("preparation")),
        release=_release(job.get("release")),
        manager=_manager(job.get("manager")),
    )


def _manager(data: Mapping[str, Any] | None) -> JobManagerSpec | None:
    if data is None:
        return None
    where: JsonPath = ("job", "manager")
    task = _task({"id": "jobmanager", **data}, where)
    return JobManagerSpec(task, bool(data.get("kill_job_on_completion", True)))


def _schedule(data: Mapping[str, Any] | None) -> ScheduleSpec | None:
    if data is None:
        return None
    start = data.get("start", "now")
    return ScheduleSpec(
        start=None if start == "now" else str(start),
        every_seconds=_optional_duration(data.get("every")),
        until=data.get("until"),
        start_window_seconds=_optional_duration(data.get("start_window")),
        where=("schedule",),
    )


def _optional_duration(value: Any) -> int | None:
    return None if value is None else parse_duration(value)


def _preparation(data: Mapping[str, Any] | None) -> JobPreparationSpec | None:
    if data is None:
        return None
    where: JsonPath = ("job", "preparation")
    return JobPreparationSpec(
        run=_command(data, where),
        resource_files=_resource_files(data.get("resource_files", []), where),
        environment=tuple(data.get("environment", {}).items()),
        elevated=bool(data.get("elevated", False)),
        wait_for_success=bool(data.get("wait_for_success", True)),
        retries=int(data.get("retries", 0)),
        max_wall_clock_seconds=_optional_duration(data.get("max_wall_clock")),
        retention_seconds=_optional_duration(data.get("retention")),
        rerun_on_node_reboot_after_success=bool(
            data.get("rerun_on_node_reboot_after_success", True)
        ),
        where=where,
    )


def _release(data: Mapping[str, Any] | None) -> JobReleaseSpec | None:
    if data is None:
        return None
    where: JsonPath = ("job", "release")
    return JobReleaseSpec(
        run=_command(data, where),
        resource_files=_resource_files(data.get("resource_files", []), where),
        environment=tuple(data.get("environment", {}).items()),
        elevated=bool(data.get("elevated", False)),
        max_wall_clock_seconds=_optional_duration(data.get("max_wall_clock")),
        retention_seconds=_optional_duration(data.get("retention")),
        where=where,
    )


def _task(task: Mapping[str, Any], where: JsonPath) -> TaskTemplate:
    wall = task.get("max_wall_clock")
    retries = task.get("retries")
    return TaskTemplate(
        id=task["id"],
        run=_command(task, where),
        foreach=_foreach(task.get("foreach"), (*where, "foreach")),
        resource_files=_resource_files(task.get("resource_files", []), where),
        environment=tuple(task.get("environment", {}).items()),
        outputs=tuple(
            OutputSpec(
                o["pattern"],
                o["container"],
                o.get("path", ""),
                o.get("when", "success"),
                (*where, "outputs", i),
            )
            for i, o in enumerate(task.get("outputs", []))
        ),
        retries=None if retries is None else int(retries),
        max_wall_clock_seconds=None if wall is None else parse_duration(wall),
        depends_on=tuple(task.get("depends_on", [])),
        elevated=bool(task.get("elevated", False)),
        where=where,
        display_name=task.get("display_name"),
        required_slots=int(task.get("required_slots", 1)),
        depends_on_ranges=tuple(
            TaskIdRange(int(r["start"]), int(r["end"]), (*where, "depends_on_ranges", i))
            for i, r in enumerate(task.get("depends_on_ranges", []))
        ),
        exit_conditions=exit_conditions_from_data(
            task.get("exit_conditions"), (*where, "exit_conditions")
        ),
        container_settings=_container_settings(task.get("container_settings"), where),
        multi_instance=_multi_instance(task.get("multi_instance"), (*where, "multi_instance")),
    )


def _multi_instance(data: Mapping[str, Any] | None, where: JsonPath) -> MultiInstanceSpec | None:
    if data is None:
        return None
    coordination = data["coordination"]
    at: JsonPath = (*where, "coordination")
    if isinstance(coordination, list):
        run = CommandSpec(None, tuple(str(c) for c in coordination), at)
    else:
        run = CommandSpec(str(coordination), None, at)
    return MultiInstanceSpec(
        instances=int(data["instances"]),
        coordination=run,
        common_resource_files=_resource_files(
            data.get("common_resource_files", []), where, "common_resource_files"
        ),
        where=where,
    )


def _command(owner: Mapping[str, Any], where: JsonPath) -> CommandSpec:
    if "command" in owner:
        return CommandSpec(str(owner["command"]), None, (*where, "command"))
    commands = owner["commands"]
    if not isinstance(commands, list):
        raise SpecShapeError((*where, "commands"), "`commands` must be a list of strings")
    return CommandSpec(None, tuple(str(c) for c in commands), (*where, "commands"))


def _resource_files(
    items: Sequence[Mapping[str, Any]], owner: JsonPath, key: str = "resource_files"
) -> tuple[ResourceFileSpec, ...]:
    return tuple(
        ResourceFileSpec(
            where=(*owner, key, i),
            container=r.get("container"),
            blob=r.get("blob"),
            prefix=r.get("prefix"),
            url=r.get("url"),
            path=r.get("path"),
        )
        for i, r in enumerate(items)
    )


def _foreach(foreach: Mapping[str, Any] | None, where: JsonPath) -> Foreach | None:
    if foreach is None:
        return None
    if "container" in foreach:
        return ContainerForeach(foreach["container"], foreach.get("match"), where)
    if "blobs" in foreach:
        blobs = foreach["blobs"]
        return BlobsForeach(
            blobs["container"], str(blobs.get("prefix", "")), blobs.get("match"), (*where, "blobs")
        )
    if "items" in foreach:
        return ItemsForeach(tuple(foreach["items"]), where)
    if "file" in foreach:
        return FileForeach(str(foreach["file"]), where)
    if "range" in foreach:
        return RangeForeach(_range(foreach["range"], (*where, "range")), where)
    kind = "zip" if "zip" in foreach else "sweep"
    parameters = []
    for name, values in foreach[kind].items():
        at: JsonPath = (*where, kind, name)
        if isinstance(values, Mapping):
            parameters.append(SweepParameter(name, _range(values["range"], at), at))
        else:
            parameters.append(SweepParameter(name, tuple(values), at))
    if kind == "zip":
        return ZipForeach(tuple(parameters), where)
    return SweepForeach(tuple(parameters), where)


def _range(bounds: Sequence[Any], where: JsonPath) -> range:
    numbers = [int(b) for b in bounds]
    if len(numbers) == 3 and numbers[2] == 0:
        raise SpecShapeError(where, "a range step cannot be 0")
    return range(*numbers)


def _registry(data: Mapping[str, Any], where: JsonPath) -> RegistrySpec:
    return RegistrySpec(
        server=data.get("server"),
        username=data.get("username"),
        password_env=data.get("password_env"),
        identity=data.get("identity"),
        where=where,
    )


def _container_configuration(data: Mapping[str, Any] | None) -> ContainerConfigurationSpec | None:
    if data is None:
        return None
    where: JsonPath = ("pool", "container_configuration")
    return ContainerConfigurationSpec(
        type=data.get("type", "docker_compatible"),
        images=tuple(str(i) for i in data.get("images", [])),
        registries=tuple(
            _registry(r, (*where, "registries", i))
            for i, r in enumerate(data.get("registries", []))
        ),
        where=where,
    )


def _container_settings(
    data: Mapping[str, Any] | None, owner: JsonPath
) -> ContainerSettingsSpec | None:
    if data is None:
        return None
    where: JsonPath = (*owner, "container_settings")
    registry = data.get("registry")
    mounts = data.get("mounts")
    return ContainerSettingsSpec(
        image=str(data["image"]),
        run_options=data.get("run_options"),
        working_directory=data.get("working_directory", "task"),
        registry=None if registry is None else _registry(registry, (*where, "registry")),
        mounts=None
        if mounts is None
        else tuple(MountSpec(m["source"], bool(m.get("read_only", False))) for m in mounts),
        where=where,
    )
