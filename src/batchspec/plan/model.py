"""The Plan: everything `apply` will create, upload and run, with no template left in it.

A Plan is built from a valid spec (see `batchspec.plan.build`) and is the only thing `apply`
reads. Every value here is concrete. Containers are referred to by their spec key (the
`containers:` mapping key, e.g. ``input``); `Plan.container_name(key)` gives the blob container
name. Resource files and outputs refer to containers by key, because their URLs (with SAS
tokens) are only made at apply time, for the target the plan is applied to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from batchspec.diagnostics import Diagnostic
from batchspec.plan.azure_pool import FileSystemMountPlan, NetworkPlan
from batchspec.plan.listing import ListingPlan
from batchspec.spec.model import VarValue

UploadCondition = Literal["success", "failure", "completion"]
CleanupAction = Literal["delete", "keep"]
AllTasksComplete = Literal["noaction", "terminatejob"]
"""Batch's `onAllTasksComplete` values."""
OnTaskFailure = Literal["noaction", "performexitoptionsjobaction"]
"""Batch's `onTaskFailure` values."""


@dataclass(frozen=True, slots=True)
class ContainerPlan:
    key: str
    """The key under `containers:` in the spec."""
    name: str
    """The blob container name (3-63 chars, lowercase letters, digits, hyphens)."""


@dataclass(frozen=True, slots=True)
class UploadPlan:
    source: Path
    """Absolute path of the local file."""
    container: str
    """Container key."""
    blob: str
    """Blob name inside the container."""
    size: int


@dataclass(frozen=True, slots=True)
class ResourceFilePlan:
    """A file Batch downloads into a task's working directory before it runs.

    Exactly one of these forms:
    - `container` + `blob`: one blob, fetched by its SAS URL (`http_url` in Batch terms);
    - `container` alone (optionally `prefix`): the container's blobs (Batch's
      `storage_container_url` with `blob_prefix`);
    - `url`: a plain HTTP(S) URL given in the spec.
    """

    container: str | None = None
    blob: str | None = None
    prefix: str | None = None
    url: str | None = None
    file_path: str | None = None
    """Destination relative to the task working directory (Batch's `file_path`)."""
    file_mode: str | None = None


@dataclass(frozen=True, slots=True)
class OutputPlan:
    pattern: str
    """Batch `file_pattern`, relative to the task working directory."""
    container: str
    """Container key."""
    path: str | None
    """Blob name (pattern without wildcards) or virtual directory (with wildcards)."""
    when: UploadCondition


@dataclass(frozen=True, slots=True)
class ImagePlan:
    publisher: str
    offer: str
    sku: str
    version: str
    node_agent_sku_id: str


@dataclass(frozen=True, slots=True)
class RegistryPlan:
    """A private container registry as Batch receives it, but with no password in it.

    The password is read from the environment variable `password_env` when `apply` builds
    the request, so a Plan can be printed and saved without a secret.
    """

    server: str | None = None
    """Batch's `registryServer`; Docker Hub when None."""
    username: str | None = None
    password_env: str | None = None
    identity_resource_id: str | None = None
    """Batch's `identityReference.resourceId`, instead of a user name and password."""


@dataclass(frozen=True, slots=True)
class ContainerConfigurationPlan:
    type: Literal["dockerCompatible", "criCompatible"] = "dockerCompatible"
    image_names: tuple[str, ...] = ()
    """Batch's `containerImageNames`: pulled by every node when it starts."""
    registries: tuple[RegistryPlan, ...] = ()


MountSource = Literal["Shared", "Startup", "Task", "JobPrep", "Applications", "VfsMounts"]


@dataclass(frozen=True, slots=True)
class MountPlan:
    source: MountSource
    read_only: bool = False


@dataclass(frozen=True, slots=True)
class ContainerSettingsPlan:
    image_name: str
    run_options: str | None = None
    working_directory: Literal["taskWorkingDirectory", "containerImageDefault"] = (
        "taskWorkingDirectory"
    )
    registry: RegistryPlan | None = None
    mounts: tuple[MountPlan, ...] | None = None
    """Batch's `containerHostBatchBindMounts`; None mounts the whole node root directory."""


@dataclass(frozen=True, slots=True)
class StartTaskPlan:
    command_line: str
    """Exactly as Batch receives it (lists already wrapped in /bin/bash -c '...', or in
    cmd /s /c "..." on a Windows pool)."""
    resource_files: tuple[ResourceFilePlan, ...] = ()
    environment: tuple[tuple[str, str], ...] = ()
    elevated: bool = False
    wait_for_success: bool = True
    max_retries: int = 0
    container_settings: ContainerSettingsPlan | None = None


@dataclass(frozen=True, slots=True)
class AutoscalePlan:
    """Batch's `autoScaleFormula` and `autoScaleEvaluationInterval` (instead of node counts)."""

    formula: str
    interval_seconds: int = 15 * 60


PoolLifetime = Literal["pool", "job"]


@dataclass(frozen=True, slots=True)
class PoolPlan:
    id: str
    vm_size: str
    dedicated_nodes: int
    spot_nodes: int
    image: ImagePlan
    task_slots_per_node: int = 1
    start_task: StartTaskPlan | None = None
    os_family: Literal["linux", "windows"] = "linux"
    """From the image's node agent; `commands:` are wrapped for bash or for cmd."""
    container_configuration: ContainerConfigurationPlan | None = None
    lifetime: PoolLifetime = "pool"
    """`job`: an auto pool (Batch's autoPoolSpecification, lifetime job); `id` is its prefix."""
    existing: bool = False
    """A pool the spec does not manage: only `id` is meaningful, apply never changes it."""
    autoscale: AutoscalePlan | None = None
    """Sizes the pool instead of `dedicated_nodes` and `spot_nodes` (both 0 then)."""
    inter_node_communication: bool = False
    """Batch's `enableInterNodeCommunication` (multi-instance tasks need it)."""
    mounts: tuple[FileSystemMountPlan, ...] = ()
    """Batch's `mountConfiguration`: file systems every node mounts when it joins."""
    network: NetworkPlan | None = None
    identities: tuple[str, ...] = ()
    """ARM ids of the pool's user-assigned identities (assigned through ARM, not apply)."""

    @property
    def managed(self) -> bool:
        """Whether apply creates this pool itself (not an auto pool, not an existing one)."""
        return self.lifetime == "pool" and not self.existing


@dataclass(frozen=True, slots=True)
class JobPreparationPlan:
    """Batch's job preparation task (its id is Batch's default, `jobpreparation`)."""

    command_line: str
    """Exactly as Batch receives it."""
    resource_files: tuple[ResourceFilePlan, ...] = ()
    environment: tuple[tuple[str, str], ...] = ()
    elevated: bool = False
    wait_for_success: bool = True
    max_retries: int = 0
    max_wall_clock_seconds: int | None = None
    retention_seconds: int | None = None
    rerun_on_node_reboot_after_success: bool = True


@dataclass(frozen=True, slots=True)
class JobReleasePlan:
    """Batch's job release task (its id is Batch's default, `jobrelease`)."""

    command_line: str
    resource_files: tuple[ResourceFilePlan, ...] = ()
    environment: tuple[tuple[str, str], ...] = ()
    elevated: bool = False
    max_wall_clock_seconds: int | None = None
    """None keeps Batch's default, 15 minutes (also its maximum)."""
    retention_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class JobPlan:
    id: str
    timeout_seconds: int | None
    """Job max wall-clock time; None means unlimited."""
    priority: int = 0
    max_task_retries: int = 0
    """Default retries for tasks that do not set their own."""
    uses_task_dependencies: bool = False
    environment: tuple[tuple[str, str], ...] = ()
    """Batch's `commonEnvironmentSettings`: every task sees them, its own settings win."""
    on_all_tasks_complete: AllTasksComplete = "noaction"
    """Set on the job after every task has been added (see apply's job update)."""
    on_task_failure: OnTaskFailure = "noaction"
    preparation: JobPreparationPlan | None = None
    release: JobReleasePlan | None = None
    manager: JobManagerPlan | None = None
    """The task each job of a schedule runs (only with `Plan.schedule`)."""


@dataclass(frozen=True, slots=True)
class ExitOptionsPlan:
    """Batch's ExitOptions; None leaves Batch's default for that way of ending."""

    job_action: Literal["none", "disable", "terminate"] | None = None
    dependency_action: Literal["satisfy", "block"] | None = None


@dataclass(frozen=True, slots=True)
class ExitConditionsPlan:
    """Batch's ExitConditions for one task."""

    exit_codes: tuple[tuple[int, ExitOptionsPlan], ...] = ()
    exit_code_ranges: tuple[tuple[int, int, ExitOptionsPlan], ...] = ()
    pre_processing_error: ExitOptionsPlan | None = None
    file_upload_error: ExitOptionsPlan | None = None
    default: ExitOptionsPlan | None = None


@dataclass(frozen=True, slots=True)
class MultiInstancePlan:
    """Batch's MultiInstanceSettings of one task."""

    instances: int
    coordination_command_line: str
    """Exactly as Batch receives it (a list already wrapped, as a task's commands are)."""
    common_resource_files: tuple[ResourceFilePlan, ...] = ()
    """Downloaded by every instance into the task directory, not the working directory."""


@dataclass(frozen=True, slots=True)
class TaskPlan:
    id: str
    command_line: str
    """Exactly as Batch receives it."""
    resource_files: tuple[ResourceFilePlan, ...] = ()
    environment: tuple[tuple[str, str], ...] = ()
    outputs: tuple[OutputPlan, ...] = ()
    max_retries: int = 0
    max_wall_clock_seconds: int | None = None
    depends_on: tuple[str, ...] = ()
    elevated: bool = False
    display_name: str | None = None
    required_slots: int = 1
    depends_on_ranges: tuple[tuple[int, int], ...] = ()
    """Batch's `taskIdRanges`: (start, end), both ends included."""
    exit_conditions: ExitConditionsPlan | None = None
    container_settings: ContainerSettingsPlan | None = None
    multi_instance: MultiInstancePlan | None = None


@dataclass(frozen=True, slots=True)
class JobManagerPlan:
    """Batch's job manager task: a task of the job (its id, command line, files, outputs,
    limits as `task` holds them) that ends the job when it completes, if asked to."""

    task: TaskPlan
    kill_job_on_completion: bool = True


@dataclass(frozen=True, slots=True)
class SchedulePlan:
    """Batch's job schedule: `JobPlan.id` is its id; each job runs `JobPlan.manager`."""

    start: str | None = None
    """Batch's doNotRunUntil (UTC, `2026-12-02T02:00:00Z`); None: the first job runs at once."""
    every_seconds: int | None = None
    """Batch's recurrenceInterval; None: one job only."""
    until: str | None = None
    """Batch's doNotRunAfter; also when the jobs' SAS URLs expire (plus the job timeout)."""
    start_window_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class DownloadPlan:
    container: str
    """Container key."""
    to: Path
    """Absolute local directory; nothing is ever written outside it."""
    prefix: str = ""
    """Only blobs whose name starts with this prefix (it is stripped locally)."""
    overwrite: bool = False


@dataclass(frozen=True, slots=True)
class CleanupActions:
    """What to delete of what a run of the spec created (found resources are always kept)."""

    containers: CleanupAction = "keep"
    job: CleanupAction = "keep"
    pool: CleanupAction = "keep"


@dataclass(frozen=True, slots=True)
class CleanupPlan:
    """Clean-up after a successful run (the fields) and after a failed or interrupted one."""

    containers: CleanupAction = "keep"
    job: CleanupAction = "delete"
    pool: CleanupAction = "keep"
    on_failure: CleanupActions = field(default_factory=CleanupActions)
    """By default everything is kept after a failure: the job holds the tasks' logs."""

    def actions(self, succeeded: bool) -> CleanupActions:
        """The actions for a run that succeeded, or that failed or was interrupted."""
        if succeeded:
            return CleanupActions(self.containers, self.job, self.pool)
        return self.on_failure


@dataclass(frozen=True, slots=True)
class RunInfo:
    """Identity of one run of a spec; templates see it as `run`."""

    id: str
    date: str
    """ISO date (YYYY-MM-DD) the run started."""


@dataclass(frozen=True)
class Plan:
    name: str
    spec_path: Path
    """Absolute path of the spec file."""
    spec_digest: str
    """sha256 of the spec file's bytes, the variable values used and the uploaded files."""
    run: RunInfo
    vars: tuple[tuple[str, VarValue], ...]
    """Each variable's value with its type (an override takes its default's type)."""
    containers: tuple[ContainerPlan, ...]
    uploads: tuple[UploadPlan, ...]
    pool: PoolPlan
    job: JobPlan
    tasks: Sequence[TaskPlan]
    """In submission order. May be a lazy sequence for very large sweeps."""
    downloads: tuple[DownloadPlan, ...] = ()
    cleanup: CleanupPlan = field(default_factory=CleanupPlan)
    inputs: tuple[tuple[str, str], ...] = ()
    """(source relative to the spec, sha256) of every uploaded file; part of `spec_digest`."""
    warnings: tuple[Diagnostic, ...] = ()
    """What validate warns about in a valid spec (e.g. a placeholder without `| quote`)."""
    schedule: SchedulePlan | None = None
    """A recurrence instead of a single run: `tasks` is empty, the jobs run the manager."""
    listings: tuple[ListingPlan, ...] = ()
    """Task templates over blobs already in storage (`foreach: {blobs: ...}`): what each lists
    and, once listed, how many tasks it made. Unlisted ones have no tasks in `tasks` yet."""

    @property
    def unlisted(self) -> tuple[ListingPlan, ...]:
        """The listings this plan was made without: apply must list them and plan again."""
        return tuple(listing for listing in self.listings if not listing.listed)

    def container_name(self, key: str) -> str:
        """The blob container name for a container key."""
        for container in self.containers:
            if container.key == key:
                return container.name
        raise KeyError(key)
