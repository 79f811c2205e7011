"""Validation of create requests and the documents Batch returns for pools, jobs and tasks.

Rules follow the service: ids are 1-64 letters, digits, hyphens and underscores; required
properties missing -> MissingRequiredProperty; values the service rejects -> InvalidPropertyValue.
Features the local service does not run (autoscale, auto pools, job manager/preparation/release
tasks) are refused with InvalidPropertyValue rather than ignored.
"""

from __future__ import annotations

import re
from typing import Any

from batchspec.emulator.service import (
    containers,
    errors,
    job_docs,
    job_manager,
    multi_instance,
    pool_docs,
    shapes,
)
from batchspec.emulator.service.errors import invalid_property, missing_property
from batchspec.emulator.service.values import Doc, iso, new_etag, normalize_duration

UNLIMITED = job_docs.UNLIMITED
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def check_id(doc: Doc, name: str = "id") -> str:
    """Validate a Batch id: letters, digits, hyphens and underscores, 1 to 64 characters."""
    value = doc.get(name)
    if value is None or value == "":
        raise missing_property(name)
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise invalid_property(
            name,
            value,
            "The id can contain any combination of alphanumeric characters including hyphens "
            "and underscores, and cannot contain more than 64 characters.",
        )
    return value


def _require(body: Doc, name: str, prefix: str = "") -> Any:
    value = body.get(name)
    if value is None or value == "":
        raise missing_property(prefix + name)
    return value


def _check_start_task(start: Doc | None) -> None:
    if start:
        _require(start, "commandLine", "startTask.")
        shapes.check_start_task(start)
        _check_resource_files(start.get("resourceFiles"), "startTask.")
        containers.check_settings(start.get("containerSettings"), "startTask.")


def _check_resource_files(files: list[Doc] | None, prefix: str) -> None:
    for i, f in enumerate(files or []):
        sources = [
            k for k in ("httpUrl", "storageContainerUrl", "autoStorageContainerName") if f.get(k)
        ]
        if len(sources) != 1:
            raise invalid_property(
                f"{prefix}resourceFiles[{i}]",
                "source",
                "Set exactly one of httpUrl, storageContainerUrl or autoStorageContainerName.",
            )
        if f.get("httpUrl") and not f.get("filePath"):
            raise missing_property(f"{prefix}resourceFiles[{i}].filePath")


def _count(body: Doc, name: str, low: int, high: int, default: int) -> int:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise invalid_property(name, value)
    return value


def new_pool(body: Doc, base_url: str) -> Doc:
    """Validate a pool create body; return the pool document (state active, resizing)."""
    pool_id = check_id(body)
    _require(body, "vmSize")
    vm = _require(body, "virtualMachineConfiguration")
    if not isinstance(vm, dict):
        raise invalid_property("virtualMachineConfiguration", vm)
    _require(vm, "imageReference", "virtualMachineConfiguration.")
    _require(vm, "nodeAgentSKUId", "virtualMachineConfiguration.")
    pool_docs.check_pool_rules(body, vm)
    containers.check_pool(vm)
    autoscale = bool(body.get("enableAutoScale"))
    if autoscale:
        _require(body, "autoScaleFormula")
    dedicated = _count(body, "targetDedicatedNodes", 0, 1000, 0)
    spot = _count(body, "targetLowPriorityNodes", 0, 1000, 0)
    slots = _count(body, "taskSlotsPerNode", 1, 256, 1)
    _check_start_task(body.get("startTask"))
    stamp = iso()
    doc: Doc = {
        k: v for k, v in body.items() if k not in ("targetDedicatedNodes", "targetLowPriorityNodes")
    }
    doc.update(
        {
            "id": pool_id,
            "url": f"{base_url}/pools/{pool_id}",
            "eTag": new_etag(),
            "lastModified": stamp,
            "creationTime": stamp,
            "state": "active",
            "stateTransitionTime": stamp,
            "allocationState": "resizing",
            "allocationStateTransitionTime": stamp,
            "resizeTimeout": normalize_duration(body.get("resizeTimeout", "PT15M")),
            "currentDedicatedNodes": 0,
            "currentLowPriorityNodes": 0,
            "targetDedicatedNodes": dedicated,
            "targetLowPriorityNodes": spot,
            "enableAutoScale": autoscale,
            "enableInterNodeCommunication": bool(body.get("enableInterNodeCommunication", False)),
            "taskSlotsPerNode": slots,
            "taskSchedulingPolicy": pool_docs.scheduling_policy(body.get("taskSchedulingPolicy")),
            "virtualMachineConfiguration": pool_docs.vm_configuration(vm),
        }
    )
    if autoscale:
        doc["autoScaleEvaluationInterval"] = normalize_duration(
            body.get("autoScaleEvaluationInterval") or "PT15M"
        )
    if body.get("userAccounts"):
        doc["userAccounts"] = pool_docs.user_accounts(body["userAccounts"])
    if isinstance(body.get("networkConfiguration"), dict):
        doc["networkConfiguration"] = pool_docs.network_configuration(body["networkConfiguration"])
    if doc.get("startTask"):
        doc["startTask"] = pool_start_task(doc["startTask"])
    return doc


def pool_start_task(start: Doc) -> Doc:
    """Validate a pool's StartTask (create, update or replace); return it with its defaults."""
    if not isinstance(start, dict):
        raise invalid_property("startTask", start)
    _check_start_task(start)
    return {"maxTaskRetryCount": 0, "waitForSuccess": True, **start}


def new_job(body: Doc, base_url: str, scheduled: bool = False) -> Doc:
    """Validate a job create body; return the job document (state active). A job a schedule
    makes has Batch's id `<schedule>:job-<n>`, which a client could not choose."""
    job_id = str(body["id"]) if scheduled else check_id(body)
    info = job_docs.pool_info(_require(body, "poolInfo"))
    shapes.check_job(body)
    job_docs.check_actions(body)
    job_docs.check_job_tasks(body)
    stamp = iso()
    doc: Doc = dict(body)
    doc.update(
        {
            "id": job_id,
            "url": f"{base_url}/jobs/{job_id}",
            "eTag": new_etag(),
            "lastModified": stamp,
            "creationTime": stamp,
            "state": "active",
            "stateTransitionTime": stamp,
            "priority": body.get("priority", 0),
            "maxParallelTasks": body.get("maxParallelTasks", -1),
            "usesTaskDependencies": bool(body.get("usesTaskDependencies", False)),
            "allowTaskPreemption": bool(body.get("allowTaskPreemption", False)),
            "constraints": job_docs.job_constraints(body.get("constraints")),
            "poolInfo": info,
            "onAllTasksComplete": body.get("onAllTasksComplete", "noaction"),
            "onTaskFailure": body.get("onTaskFailure", "noaction"),
            "executionInfo": {"startTime": stamp, "poolId": info.get("poolId", "")},
        }
    )
    if body.get("jobPreparationTask"):
        doc["jobPreparationTask"] = job_docs.preparation_task(body["jobPreparationTask"])
    if body.get("jobReleaseTask"):
        doc["jobReleaseTask"] = job_docs.release_task(body["jobReleaseTask"])
    if body.get("jobManagerTask"):
        doc["jobManagerTask"] = job_manager.manager_task(body["jobManagerTask"])
        # Checked as the task it becomes, before anything is stored.
        new_task(job_manager.as_task_body(doc["jobManagerTask"]), doc, base_url)
    return doc


def dependency_ids(body: Doc) -> list[str]:
    """The ids a task depends on, with taskIdRanges expanded."""
    deps = body.get("dependsOn") or {}
    ids = [str(t) for t in deps.get("taskIds") or []]
    for r in deps.get("taskIdRanges") or []:
        start, end = int(r.get("start", 0)), int(r.get("end", -1))
        if end < start:
            raise invalid_property("dependsOn.taskIdRanges", f"{start}-{end}")
        ids.extend(str(i) for i in range(start, end + 1))
    return ids


def _exit_options(body: Doc) -> list[Doc]:
    cond = body.get("exitConditions") or {}
    options = [m.get("exitOptions") or {} for m in (cond.get("exitCodes") or [])]
    options += [r.get("exitOptions") or {} for r in (cond.get("exitCodeRanges") or [])]
    options += [cond.get(k) or {} for k in ("preProcessingError", "fileUploadError", "default")]
    return options


def _has_job_action(body: Doc) -> bool:
    return any(o.get("jobAction") not in (None, "none") for o in _exit_options(body))


def _has_dependency_action(body: Doc) -> bool:
    return any(o.get("dependencyAction") is not None for o in _exit_options(body))


def new_task(body: Doc, job: Doc, base_url: str) -> Doc:
    """Validate a task create body against its job; return the task document (active)."""
    if not isinstance(body, dict):
        raise errors.invalid_request_body()
    task_id = check_id(body)
    _require(body, "commandLine")
    shapes.check_task(body)
    if body.get("applicationPackageReferences"):
        raise errors.local_limit(
            "applicationPackageReferences", "set", "Not supported by the local Batch service."
        )
    multi_instance.check_settings(body, _check_resource_files)
    _check_resource_files(body.get("resourceFiles"), "")
    containers.check_settings(body.get("containerSettings"), "")
    if body.get("dependsOn") and not job.get("usesTaskDependencies"):
        raise errors.task_dependencies_not_specified()
    dependency_ids(body)
    if not job.get("usesTaskDependencies") and _has_dependency_action(body):
        raise invalid_property(
            "exitConditions",
            "dependencyAction",
            "A dependencyAction needs a job that uses task dependencies.",
        )
    if job.get("onTaskFailure", "noaction") == "noaction" and _has_job_action(body):
        raise invalid_property(
            "exitConditions",
            "jobAction",
            "A jobAction needs the job's onTaskFailure to be performexitoptionsjobaction.",
        )
    for i, out in enumerate(body.get("outputFiles") or []):
        _require(out, "filePattern", f"outputFiles[{i}].")
        dest = ((out.get("destination") or {}).get("container")) or {}
        _require(dest, "containerUrl", f"outputFiles[{i}].destination.container.")
    slots = _count(body, "requiredSlots", 1, 256, 1)
    stamp = iso()
    job_constraints = job.get("constraints") or {}
    constraints = {
        "maxWallClockTime": UNLIMITED,
        "retentionTime": "P7D",
        "maxTaskRetryCount": job_constraints.get("maxTaskRetryCount", 0),
    }
    constraints.update(body.get("constraints") or {})
    doc: Doc = dict(body)
    doc.update(
        {
            "id": task_id,
            "url": f"{base_url}/jobs/{job['id']}/tasks/{task_id}",
            "eTag": new_etag(),
            "lastModified": stamp,
            "creationTime": stamp,
            "state": "active",
            "stateTransitionTime": stamp,
            "constraints": constraints,
            "requiredSlots": slots,
            "userIdentity": body.get("userIdentity")
            or {"autoUser": {"scope": "pool", "elevationLevel": "nonadmin"}},
            "executionInfo": {"retryCount": 0, "requeueCount": 0},
        }
    )
    return doc
