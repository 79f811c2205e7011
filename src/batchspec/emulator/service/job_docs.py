"""Job bodies as Batch fills them in: constraints, job preparation and release tasks, auto pool
specifications, and the job specification of a job schedule (recorded defaults in
tests/emulator/conformance/recordings/jobs.json and job_schedules.json).
"""

from __future__ import annotations

import re
from typing import Any

from batchspec.emulator.service import errors, job_manager, pool_docs, shapes
from batchspec.emulator.service.values import Doc, normalize_duration, parse_duration

UNLIMITED = "P10675199DT2H48M5.4775807S"
_PREFIX = re.compile(r"[A-Za-z0-9_-]{1,20}")
RELEASE_MAX_SECONDS = 15 * 60
"""A job release task may run at most 15 minutes: Batch refuses more with 400 (the REST
spec's JobReleaseTask.maxWallClockTime)."""
_AUTO_USER = {"autoUser": {"scope": "pool", "elevationLevel": "nonadmin"}}


def job_constraints(given: Any) -> Doc:
    """A job's constraints with what the body leaves out at its default (also on replace)."""
    constraints: Doc = {"maxWallClockTime": UNLIMITED, "maxTaskRetryCount": 0}
    if isinstance(given, dict):
        constraints.update({k: v for k, v in given.items() if v is not None})
    constraints["maxWallClockTime"] = normalize_duration(constraints["maxWallClockTime"])
    return constraints


def preparation_task(given: Any) -> Doc:
    """A jobPreparationTask with Batch's defaults."""
    if not isinstance(given, dict) or not given.get("commandLine"):
        raise errors.missing_property("jobPreparationTask.commandLine")
    shapes.check_start_task(given, "jobPreparationTask.")
    constraints = {"maxWallClockTime": UNLIMITED, "retentionTime": "P7D", "maxTaskRetryCount": 0}
    constraints.update(given.get("constraints") or {})
    return {
        "id": "jobpreparation",
        **given,
        "constraints": constraints,
        "userIdentity": given.get("userIdentity") or _AUTO_USER,
        "waitForSuccess": bool(given.get("waitForSuccess", True)),
        "rerunOnNodeRebootAfterSuccess": bool(given.get("rerunOnNodeRebootAfterSuccess", True)),
    }


def release_task(given: Any) -> Doc:
    """A jobReleaseTask with Batch's defaults."""
    if not isinstance(given, dict) or not given.get("commandLine"):
        raise errors.missing_property("jobReleaseTask.commandLine")
    shapes.check_start_task(given, "jobReleaseTask.")
    wall = normalize_duration(given.get("maxWallClockTime") or "PT15M")
    seconds = parse_duration(str(wall))
    if seconds is None or seconds > RELEASE_MAX_SECONDS:
        raise errors.invalid_property(
            "jobReleaseTask.maxWallClockTime", given.get("maxWallClockTime"), "At most PT15M."
        )
    return {
        "id": "jobrelease",
        **given,
        "maxWallClockTime": wall,
        "retentionTime": normalize_duration(given.get("retentionTime") or "P7D"),
        "userIdentity": given.get("userIdentity") or _AUTO_USER,
    }


def check_job_tasks(body: Doc) -> None:
    """A job release task needs a job preparation task (the REST spec: "A Job Release Task
    cannot be specified without also specifying a Job Preparation Task for the Job")."""
    if body.get("jobReleaseTask") and not body.get("jobPreparationTask"):
        raise errors.invalid_property(
            "jobReleaseTask", "set", "A job release task needs a job preparation task."
        )


def auto_pool(spec: Any) -> Doc:
    """poolInfo.autoPoolSpecification as Batch echoes it (the pool with its defaults)."""
    if not isinstance(spec, dict):
        raise errors.invalid_request_body()
    lifetime = spec.get("poolLifetimeOption")
    if lifetime not in ("job", "jobschedule"):
        raise errors.invalid_property("poolInfo.autoPoolSpecification.poolLifetimeOption", lifetime)
    pool = spec.get("pool")
    if not isinstance(pool, dict):
        raise errors.missing_property("poolInfo.autoPoolSpecification.pool")
    vm = pool.get("virtualMachineConfiguration")
    if not isinstance(vm, dict) or not vm.get("imageReference") or not vm.get("nodeAgentSKUId"):
        raise errors.missing_property(
            "poolInfo.autoPoolSpecification.pool.virtualMachineConfiguration"
        )
    if not pool.get("vmSize"):
        raise errors.missing_property("poolInfo.autoPoolSpecification.pool.vmSize")
    pool_docs.check_pool_rules(pool, vm)
    out_pool: Doc = {
        **pool,
        "taskSlotsPerNode": pool.get("taskSlotsPerNode", 1),
        "taskSchedulingPolicy": pool_docs.scheduling_policy(pool.get("taskSchedulingPolicy")),
        "resizeTimeout": normalize_duration(pool.get("resizeTimeout") or "PT15M"),
        "targetDedicatedNodes": pool.get("targetDedicatedNodes", 0),
        "targetLowPriorityNodes": pool.get("targetLowPriorityNodes", 0),
        "enableAutoScale": bool(pool.get("enableAutoScale", False)),
        "enableInterNodeCommunication": bool(pool.get("enableInterNodeCommunication", False)),
        "virtualMachineConfiguration": pool_docs.vm_configuration(vm),
    }
    out: Doc = {"poolLifetimeOption": lifetime, "keepAlive": bool(spec.get("keepAlive", False))}
    prefix = spec.get("autoPoolIdPrefix")
    if prefix:
        # The REST spec: "The prefix can be up to 20 characters long"; it starts a pool id.
        if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
            raise errors.invalid_property(
                "poolInfo.autoPoolSpecification.autoPoolIdPrefix",
                prefix,
                "at most 20 letters, digits, hyphens or underscores",
            )
        out["autoPoolIdPrefix"] = prefix
    out["pool"] = out_pool
    return out


def pool_info(info: Any) -> Doc:
    """poolInfo: a pool id, or an auto pool specification."""
    if not isinstance(info, dict):
        raise errors.invalid_request_body()
    if info.get("autoPoolSpecification") is not None:
        return {"autoPoolSpecification": auto_pool(info["autoPoolSpecification"])}
    if not info.get("poolId"):
        raise errors.missing_property("poolInfo.poolId")
    return {"poolId": info["poolId"]}


def check_actions(body: Doc) -> None:
    """onAllTasksComplete and onTaskFailure take only Batch's values."""
    for name, allowed in (
        ("onAllTasksComplete", ("noaction", "terminatejob")),
        ("onTaskFailure", ("noaction", "performexitoptionsjobaction")),
    ):
        if body.get(name, "noaction") not in allowed:
            raise errors.invalid_property(name, body.get(name))


def job_specification(spec: Any) -> Doc:
    """A job schedule's jobSpecification with Batch's defaults."""
    if not isinstance(spec, dict):
        raise errors.missing_property("jobSpecification")
    if spec.get("poolInfo") is None:
        raise errors.missing_property("jobSpecification.poolInfo")
    shapes.check_job(spec)
    check_actions(spec)
    check_job_tasks(spec)
    out: Doc = {
        "priority": spec.get("priority", 0),
        "maxParallelTasks": spec.get("maxParallelTasks", -1),
        "allowTaskPreemption": bool(spec.get("allowTaskPreemption", False)),
        "usesTaskDependencies": bool(spec.get("usesTaskDependencies", False)),
        "onAllTasksComplete": spec.get("onAllTasksComplete", "noaction"),
        "onTaskFailure": spec.get("onTaskFailure", "noaction"),
        "constraints": job_constraints(spec.get("constraints")),
    }
    for key in ("displayName", "commonEnvironmentSettings", "metadata", "networkConfiguration"):
        if spec.get(key) is not None:
            out[key] = spec[key]
    if spec.get("jobPreparationTask"):
        out["jobPreparationTask"] = preparation_task(spec["jobPreparationTask"])
    if spec.get("jobReleaseTask"):
        out["jobReleaseTask"] = release_task(spec["jobReleaseTask"])
    if spec.get("jobManagerTask"):
        out["jobManagerTask"] = job_manager.manager_task(spec["jobManagerTask"])
    out["poolInfo"] = pool_info(spec["poolInfo"])
    return out
