"""Plan records -> azure.batch request models (pool, job, tasks), with SAS URLs filled in.

Nothing here talks to a service: the functions are pure apart from asking a `UrlSigner` for
SAS URLs, so they are unit-tested with hand-built Plans.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Mapping
from typing import Protocol

from azure.batch import models as bm

from batchspec.apply.azure_pool_models import mount_configurations, network_configuration
from batchspec.plan.model import (
    ContainerConfigurationPlan,
    ContainerSettingsPlan,
    ExitConditionsPlan,
    ExitOptionsPlan,
    JobPlan,
    JobPreparationPlan,
    JobReleasePlan,
    MultiInstancePlan,
    OutputPlan,
    Plan,
    PoolPlan,
    RegistryPlan,
    ResourceFilePlan,
    SchedulePlan,
    StartTaskPlan,
    TaskPlan,
)
from batchspec.redact import register_secret

_UPLOAD_CONDITIONS = {
    "success": bm.OutputFileUploadCondition.TASK_SUCCESS,
    "failure": bm.OutputFileUploadCondition.TASK_FAILURE,
    "completion": bm.OutputFileUploadCondition.TASK_COMPLETION,
}


class UrlSigner(Protocol):
    """What batch_models needs from a SAS issuer (`batchspec.apply.sas.SasIssuer`)."""

    def blob_url(self, container_name: str, blob: str) -> str: ...

    def container_read_url(self, container_name: str) -> str: ...

    def container_write_url(self, container_name: str) -> str: ...


class BatchModels:
    """Builds the request models for one Plan; container URLs are signed once and reused."""

    def __init__(
        self, plan: Plan, signer: UrlSigner, environ: Mapping[str, str] | None = None
    ) -> None:
        self._plan = plan
        self._signer = signer
        self._environ = os.environ if environ is None else environ
        """Where registry passwords are read from (`password_env`)."""
        self._read_urls: dict[str, str] = {}
        self._write_urls: dict[str, str] = {}

    def pool(self) -> bm.BatchPoolCreateOptions:
        """The pool create request for `plan.pool`."""
        pool = self._plan.pool
        config = pool.container_configuration
        options = pool_options(
            pool,
            self._start_task(pool.start_task),
            None if config is None else container_configuration(config, self._environ),
        )
        # Azure-only settings (apply/azure_pool_models.py); a container mount's SAS is the
        # read+list one resource files use, signed once.
        options.mount_configuration = mount_configurations(
            self._plan, self._container_read_url, self._environ
        )
        options.network_configuration = network_configuration(pool.network)
        return options

    def job(self) -> bm.BatchJobCreateOptions:
        """The job create request; the job runs on the plan's pool, or on its auto pool."""
        options = job_options(self._plan.job, self._plan.pool.id)
        if self._plan.pool.lifetime == "job":
            options.pool_info = auto_pool_info(self.pool())
        options.job_preparation_task = self.preparation_task(self._plan.job.preparation)
        options.job_release_task = self.release_task(self._plan.job.release)
        return options

    def preparation_task(
        self, prep: JobPreparationPlan | None
    ) -> bm.BatchJobPreparationTask | None:
        """The job preparation task (Batch names it `jobpreparation`)."""
        if prep is None:
            return None
        return bm.BatchJobPreparationTask(
            command_line=prep.command_line,
            resource_files=[self.resource_file(r) for r in prep.resource_files] or None,
            environment_settings=_environment(prep.environment),
            constraints=bm.BatchTaskConstraints(
                max_wall_clock_time=_seconds(prep.max_wall_clock_seconds),
                retention_time=_seconds(prep.retention_seconds),
                max_task_retry_count=prep.max_retries,
            ),
            wait_for_success=prep.wait_for_success,
            # Pool scope, Batch's default auto user: what it writes, the job's tasks can read.
            user_identity=_elevated("pool") if prep.elevated else None,
            rerun_on_node_reboot_after_success=prep.rerun_on_node_reboot_after_success,
        )

    def job_manager_task(self) -> bm.BatchJobManagerTask | None:
        """The job manager task each job of the plan's schedule runs (a task of the job)."""
        manager = self._plan.job.manager
        if manager is None:
            return None
        task = self.task(manager.task)
        return bm.BatchJobManagerTask(
            id=task.id,
            display_name=task.display_name,
            command_line=task.command_line,
            resource_files=task.resource_files,
            output_files=task.output_files,
            environment_settings=task.environment_settings,
            constraints=task.constraints,
            required_slots=task.required_slots,
            kill_job_on_completion=manager.kill_job_on_completion,
            user_identity=task.user_identity,
        )

    def job_schedule(self) -> bm.BatchJobScheduleCreateOptions:
        """The job schedule create request: `plan.job.id` is the schedule's id, and each job
        it makes is the plan's job (pool, limits, job tasks) running the job manager task."""
        plan, schedule = self._plan, self._plan.schedule
        if schedule is None:
            raise ValueError("the plan has no schedule")
        job = self.job()
        return bm.BatchJobScheduleCreateOptions(
            id=plan.job.id,
            schedule=schedule_configuration(schedule),
            job_specification=bm.BatchJobSpecification(
                pool_info=job.pool_info,
                priority=job.priority,
                constraints=job.constraints,
                uses_task_dependencies=job.uses_task_dependencies,
                # No task is added between job creation and its manager's start, so the
                # plan's action can be set at once (unlike a single run's, see job_options).
                all_tasks_complete_mode=bm.BatchAllTasksCompleteMode(
                    plan.job.on_all_tasks_complete
                ),
                task_failure_mode=job.task_failure_mode,
                common_environment_settings=job.common_environment_settings,
                job_manager_task=self.job_manager_task(),
                job_preparation_task=job.job_preparation_task,
                job_release_task=job.job_release_task,
            ),
        )

    def release_task(self, release: JobReleasePlan | None) -> bm.BatchJobReleaseTask | None:
        """The job release task (Batch names it `jobrelease`)."""
        if release is None:
            return None
        return bm.BatchJobReleaseTask(
            command_line=release.command_line,
            resource_files=[self.resource_file(r) for r in release.resource_files] or None,
            environment_settings=_environment(release.environment),
            max_wall_clock_time=_seconds(release.max_wall_clock_seconds),
            retention_time=_seconds(release.retention_seconds),
            user_identity=_elevated("pool") if release.elevated else None,
        )

    def job_completion(self) -> bm.BatchJobUpdateOptions | None:
        """The job update to send after the last task is added, if the plan asks for one."""
        return job_completion_update(self._plan.job)

    def task(self, task: TaskPlan) -> bm.BatchTaskCreateOptions:
        """The task create request for one planned task."""
        constraints = bm.BatchTaskConstraints(
            max_task_retry_count=task.max_retries,
            max_wall_clock_time=_seconds(task.max_wall_clock_seconds),
        )
        return bm.BatchTaskCreateOptions(
            id=task.id,
            command_line=task.command_line,
            resource_files=[self.resource_file(r) for r in task.resource_files] or None,
            output_files=[self.output_file(o) for o in task.outputs] or None,
            environment_settings=_environment(task.environment),
            constraints=constraints,
            user_identity=_elevated("task") if task.elevated else None,
            depends_on=_dependencies(task),
            exit_conditions=_exit_conditions(task.exit_conditions),
            display_name=task.display_name,
            required_slots=task.required_slots if task.required_slots != 1 else None,
            container_settings=container_settings(task.container_settings, self._environ),
            multi_instance_settings=self._multi_instance(task.multi_instance),
        )

    def _multi_instance(self, multi: MultiInstancePlan | None) -> bm.MultiInstanceSettings | None:
        if multi is None:
            return None
        return bm.MultiInstanceSettings(
            number_of_instances=multi.instances,
            coordination_command_line=multi.coordination_command_line,
            common_resource_files=[self.resource_file(r) for r in multi.common_resource_files]
            or None,
        )

    def resource_file(self, rf: ResourceFilePlan) -> bm.ResourceFile:
        """A resource file: one blob by SAS URL, a container (optionally a prefix), or a URL."""
        if rf.url is not None:
            return bm.ResourceFile(http_url=rf.url, file_path=rf.file_path, file_mode=rf.file_mode)
        if rf.container is None:
            raise ValueError("a resource file needs a container or a url")
        name = self._plan.container_name(rf.container)
        if rf.blob is not None:
            return bm.ResourceFile(
                http_url=self._signer.blob_url(name, rf.blob),
                # Batch requires file_path with http_url; the blob name is the natural default.
                file_path=rf.file_path or rf.blob,
                file_mode=rf.file_mode,
            )
        return bm.ResourceFile(
            storage_container_url=self._container_read_url(name),
            blob_prefix=rf.prefix or None,
            file_path=rf.file_path,
            file_mode=rf.file_mode,
        )

    def output_file(self, out: OutputPlan) -> bm.OutputFile:
        """An output-file rule uploading to the output container with a write-only SAS."""
        url = self._container_write_url(self._plan.container_name(out.container))
        return bm.OutputFile(
            file_pattern=out.pattern,
            destination=bm.OutputFileDestination(
                container=bm.OutputFileBlobContainerDestination(container_url=url, path=out.path)
            ),
            upload_options=bm.OutputFileUploadConfiguration(
                upload_condition=_UPLOAD_CONDITIONS[out.when]
            ),
        )

    def _start_task(self, start: StartTaskPlan | None) -> bm.BatchStartTask | None:
        if start is None:
            return None
        return bm.BatchStartTask(
            command_line=start.command_line,
            resource_files=[self.resource_file(r) for r in start.resource_files] or None,
            environment_settings=_environment(start.environment),
            user_identity=_elevated("pool") if start.elevated else None,
            max_task_retry_count=start.max_retries,
            wait_for_success=start.wait_for_success,
            container_settings=container_settings(start.container_settings, self._environ),
        )

    def _container_read_url(self, name: str) -> str:
        if name not in self._read_urls:
            self._read_urls[name] = self._signer.container_read_url(name)
        return self._read_urls[name]

    def _container_write_url(self, name: str) -> str:
        if name not in self._write_urls:
            self._write_urls[name] = self._signer.container_write_url(name)
        return self._write_urls[name]


def pool_options(
    pool: PoolPlan,
    start_task: bm.BatchStartTask | None,
    containers: bm.BatchContainerConfiguration | None = None,
) -> bm.BatchPoolCreateOptions:
    """The pool create request: a Linux/Windows marketplace image with fixed node counts."""
    image = pool.image
    return bm.BatchPoolCreateOptions(
        id=pool.id,
        vm_size=pool.vm_size,
        virtual_machine_configuration=bm.VirtualMachineConfiguration(
            image_reference=bm.BatchVmImageReference(
                publisher=image.publisher,
                offer=image.offer,
                sku=image.sku,
                version=image.version,
            ),
            node_agent_sku_id=image.node_agent_sku_id,
            container_configuration=containers,
        ),
        target_dedicated_nodes=None if pool.autoscale else pool.dedicated_nodes,
        target_low_priority_nodes=None if pool.autoscale else pool.spot_nodes,
        task_slots_per_node=pool.task_slots_per_node,
        start_task=start_task,
        enable_auto_scale=True if pool.autoscale else None,
        auto_scale_formula=pool.autoscale.formula if pool.autoscale else None,
        auto_scale_evaluation_interval=_seconds(pool.autoscale.interval_seconds)
        if pool.autoscale
        else None,
        enable_inter_node_communication=pool.inter_node_communication or None,
    )


def auto_pool_info(pool: bm.BatchPoolCreateOptions) -> bm.BatchPoolInfo:
    """A job's pool as an auto pool: Batch creates it with the job and deletes it with the job.

    The pool request's id becomes the prefix of the id Batch gives it (`<prefix>_<GUID>`);
    every other setting of the pool request is carried over as it is.
    """
    # Through the wire form: whatever a pool request holds (mounts, networks...), the
    # specification gets too, as Batch's REST API gives both the same properties but `id`.
    settings = pool.as_dict()
    settings.pop("id", None)
    return bm.BatchPoolInfo(
        auto_pool_specification=bm.BatchAutoPoolSpecification(
            auto_pool_id_prefix=pool.id,
            pool_lifetime_option=bm.BatchPoolLifetimeOption.JOB,
            keep_alive=False,
            pool=bm.BatchPoolSpecification(settings),
        )
    )


def job_options(job: JobPlan, pool_id: str) -> bm.BatchJobCreateOptions:
    """The job create request.

    All-tasks-complete stays `noaction` here: tasks are added in several calls, and a job told to
    terminate when all its tasks complete could end between two of them; the plan's action is
    set by `job_completion_update` after the last one.
    """
    return bm.BatchJobCreateOptions(
        id=job.id,
        pool_info=bm.BatchPoolInfo(pool_id=pool_id),
        priority=job.priority,
        constraints=bm.BatchJobConstraints(
            max_wall_clock_time=_seconds(job.timeout_seconds),
            max_task_retry_count=job.max_task_retries,
        ),
        uses_task_dependencies=job.uses_task_dependencies,
        all_tasks_complete_mode=bm.BatchAllTasksCompleteMode.NO_ACTION,
        task_failure_mode=bm.BatchTaskFailureMode(job.on_task_failure),
        common_environment_settings=_environment(job.environment),
    )


def schedule_configuration(schedule: SchedulePlan) -> bm.BatchJobScheduleConfiguration:
    """Batch's schedule: doNotRunUntil (absent: at once), recurrence, doNotRunAfter, window."""
    return bm.BatchJobScheduleConfiguration(
        do_not_run_until=None if schedule.start is None else _utc(schedule.start),
        do_not_run_after=None if schedule.until is None else _utc(schedule.until),
        recurrence_interval=_seconds(schedule.every_seconds),
        start_window=_seconds(schedule.start_window_seconds),
    )


def _utc(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def job_completion_update(job: JobPlan) -> bm.BatchJobUpdateOptions | None:
    """The update that sets the plan's all-tasks-complete action once every task is added.

    None when the job keeps Batch's default (`noaction`), which it was created with.
    """
    if job.on_all_tasks_complete == "noaction":
        return None
    return bm.BatchJobUpdateOptions(
        all_tasks_complete_mode=bm.BatchAllTasksCompleteMode(job.on_all_tasks_complete)
    )


def _dependencies(task: TaskPlan) -> bm.BatchTaskDependencies | None:
    if not task.depends_on and not task.depends_on_ranges:
        return None
    return bm.BatchTaskDependencies(
        task_ids=list(task.depends_on) or None,
        task_id_ranges=[bm.BatchTaskIdRange(start=s, end=e) for s, e in task.depends_on_ranges]
        or None,
    )


def _exit_options(options: ExitOptionsPlan) -> bm.ExitOptions:
    job, dependency = options.job_action, options.dependency_action
    return bm.ExitOptions(
        job_action=None if job is None else bm.BatchJobActionKind(job),
        dependency_action=None if dependency is None else bm.DependencyAction(dependency),
    )


def _maybe_exit_options(options: ExitOptionsPlan | None) -> bm.ExitOptions | None:
    return None if options is None else _exit_options(options)


def _exit_conditions(conditions: ExitConditionsPlan | None) -> bm.ExitConditions | None:
    if conditions is None:
        return None
    return bm.ExitConditions(
        exit_codes=[
            bm.ExitCodeMapping(code=code, exit_options=_exit_options(options))
            for code, options in conditions.exit_codes
        ]
        or None,
        exit_code_ranges=[
            bm.ExitCodeRangeMapping(start=start, end=end, exit_options=_exit_options(options))
            for start, end, options in conditions.exit_code_ranges
        ]
        or None,
        pre_processing_error=_maybe_exit_options(conditions.pre_processing_error),
        file_upload_error=_maybe_exit_options(conditions.file_upload_error),
        default=_maybe_exit_options(conditions.default),
    )


# --- containers: Batch's ContainerConfiguration and BatchTaskContainerSettings ---------------


class MissingRegistryPassword(LookupError):
    """A registry's `password_env` is not set in the environment `apply` runs in."""

    def __init__(self, registry: RegistryPlan) -> None:
        server = registry.server or "docker.io"
        super().__init__(
            f"the password for registry {server} (user {registry.username}) comes from "
            f"${registry.password_env}, which is not set: export {registry.password_env}=..."
        )


def registry_reference(
    registry: RegistryPlan, environ: Mapping[str, str]
) -> bm.ContainerRegistryReference:
    """A registry with its password read from the environment (and registered for redaction)."""
    if registry.identity_resource_id is not None:
        return bm.ContainerRegistryReference(
            registry_server=registry.server,
            identity_reference=bm.BatchNodeIdentityReference(
                resource_id=registry.identity_resource_id
            ),
        )
    password = None
    if registry.password_env is not None:
        password = environ.get(registry.password_env)
        if not password:
            raise MissingRegistryPassword(registry)
        register_secret(password)
    return bm.ContainerRegistryReference(
        registry_server=registry.server, username=registry.username, password=password
    )


def container_configuration(
    config: ContainerConfigurationPlan, environ: Mapping[str, str]
) -> bm.BatchContainerConfiguration:
    """The pool's container configuration: type, images to prefetch, registries."""
    return bm.BatchContainerConfiguration(
        type=bm.ContainerType(config.type),
        container_image_names=list(config.image_names) or None,
        container_registries=[registry_reference(r, environ) for r in config.registries] or None,
    )


def container_settings(
    settings: ContainerSettingsPlan | None, environ: Mapping[str, str]
) -> bm.BatchTaskContainerSettings | None:
    """A task's (or StartTask's) container settings, or None for a task run on the node."""
    if settings is None:
        return None
    mounts = None
    if settings.mounts is not None:
        mounts = [
            bm.ContainerHostBatchBindMountEntry(
                source=bm.ContainerHostDataPath(m.source), is_read_only=m.read_only
            )
            for m in settings.mounts
        ]
    return bm.BatchTaskContainerSettings(
        image_name=settings.image_name,
        container_run_options=settings.run_options,
        registry=None
        if settings.registry is None
        else registry_reference(settings.registry, environ),
        working_directory=bm.ContainerWorkingDirectory(settings.working_directory),
        container_host_batch_bind_mounts=mounts,
    )


def registries_of(plan: Plan) -> list[RegistryPlan]:
    """Every registry a plan signs in to: the pool's, the StartTask's and the tasks'."""
    found: list[RegistryPlan] = []
    config = plan.pool.container_configuration
    if config is not None:
        found += config.registries
    start = plan.pool.start_task
    settings = [start.container_settings if start is not None else None]
    settings += [t.container_settings for t in plan.tasks]
    for s in settings:
        if s is not None and s.registry is not None and s.registry not in found:
            found.append(s.registry)
    return found


def _elevated(scope: str) -> bm.UserIdentity:
    return bm.UserIdentity(
        auto_user=bm.AutoUserSpecification(scope=scope, elevation_level=bm.ElevationLevel.ADMIN)
    )


def _environment(pairs: tuple[tuple[str, str], ...]) -> list[bm.EnvironmentSetting] | None:
    return [bm.EnvironmentSetting(name=k, value=v) for k, v in pairs] or None


def _seconds(value: int | None) -> datetime.timedelta | None:
    return None if value is None else datetime.timedelta(seconds=value)
