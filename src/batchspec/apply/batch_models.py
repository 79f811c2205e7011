"""Plan records -> azure.batch request models (pool, job, tasks), with SAS URLs filled in.

Nothing here talks to a service: the functions are pure apart from asking a `UrlSigner` for
SAS URLs, so they are unit-tested with hand-built Plans.
"""

from __future__ import annotations

import datetime
from typing import Protocol

from azure.batch import models as bm

from batchspec.plan.model import (
    ExitConditionsPlan,
    ExitOptionsPlan,
    JobPlan,
    OutputPlan,
    Plan,
    PoolPlan,
    ResourceFilePlan,
    StartTaskPlan,
    TaskPlan,
)

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

    def __init__(self, plan: Plan, signer: UrlSigner) -> None:
        self._plan = plan
        self._signer = signer
        self._read_urls: dict[str, str] = {}
        self._write_urls: dict[str, str] = {}

    def pool(self) -> bm.BatchPoolCreateOptions:
        """The pool create request for `plan.pool`."""
        return pool_options(self._plan.pool, self._start_task(self._plan.pool.start_task))

    def job(self) -> bm.BatchJobCreateOptions:
        """The job create request; the job runs on the plan's pool."""
        return job_options(self._plan.job, self._plan.pool.id)

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
        )

    def _container_read_url(self, name: str) -> str:
        if name not in self._read_urls:
            self._read_urls[name] = self._signer.container_read_url(name)
        return self._read_urls[name]

    def _container_write_url(self, name: str) -> str:
        if name not in self._write_urls:
            self._write_urls[name] = self._signer.container_write_url(name)
        return self._write_urls[name]


def pool_options(pool: PoolPlan, start_task: bm.BatchStartTask | None) -> bm.BatchPoolCreateOptions:
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
        ),
        target_dedicated_nodes=pool.dedicated_nodes,
        target_low_priority_nodes=pool.spot_nodes,
        task_slots_per_node=pool.task_slots_per_node,
        start_task=start_task,
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


def _elevated(scope: str) -> bm.UserIdentity:
    return bm.UserIdentity(
        auto_user=bm.AutoUserSpecification(scope=scope, elevation_level=bm.ElevationLevel.ADMIN)
    )


def _environment(pairs: tuple[tuple[str, str], ...]) -> list[bm.EnvironmentSetting] | None:
    return [bm.EnvironmentSetting(name=k, value=v) for k, v in pairs] or None


def _seconds(value: int | None) -> datetime.timedelta | None:
    return None if value is None else datetime.timedelta(seconds=value)
