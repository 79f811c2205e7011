"""Job manager tasks, as Batch runs them: a task of the job, added when the job is created (so
it is the job's first task and starts before any other), that ends the job when it completes
if `killJobOnCompletion` (the default) says so, with terminateReason `JMComplete`.

Evidence (the Batch REST spec's JobManagerTask, in Azure/azure-rest-api-specs
`specification/batch/` and its generated models): "The Job Manager Task is automatically
started when the Job is created"; killJobOnCompletion "If true, when the Job Manager Task
completes, the Batch service marks the Job as complete ... The default value is true";
JobExecutionInformation.terminateReason "JMComplete - the Job Manager Task completed, and
killJobOnCompletion was set to true". runExclusive (default true) is recorded, not enforced:
the local service lets other tasks share the node's free slots.
"""

from __future__ import annotations

from typing import Any

from batchspec.emulator.service import errors
from batchspec.emulator.service.values import Doc

MANAGER_ONLY = ("killJobOnCompletion", "runExclusive", "allowLowPriorityNode", "displayName")
"""JobManagerTask properties that a task create body does not have (displayName it has, but
the task keeps it from the manager's copy)."""


def manager_task(given: Any) -> Doc:
    """A jobManagerTask with Batch's defaults (for the job, or a schedule's job specification)."""
    if not isinstance(given, dict):
        raise errors.invalid_property("jobManagerTask", given)
    for name in ("id", "commandLine"):
        if not given.get(name):
            raise errors.missing_property(f"jobManagerTask.{name}")
    if given.get("applicationPackageReferences"):
        raise errors.local_limit(
            "jobManagerTask.applicationPackageReferences", "set", "Not supported locally."
        )
    return {
        **given,
        "killJobOnCompletion": bool(given.get("killJobOnCompletion", True)),
        "runExclusive": bool(given.get("runExclusive", True)),
        "allowLowPriorityNode": bool(given.get("allowLowPriorityNode", True)),
        "requiredSlots": given.get("requiredSlots", 1),
    }


def as_task_body(manager: Doc) -> Doc:
    """The task create body the job manager task becomes (the task's own properties only)."""
    body = {k: v for k, v in manager.items() if k not in MANAGER_ONLY}
    if manager.get("displayName"):
        body["displayName"] = manager["displayName"]
    return body


def is_manager(task: Doc) -> bool:
    """Whether a task is its job's job manager task."""
    return bool(task.get("_jobManager"))


def ends_job(job: Doc, task: Doc) -> bool:
    """Whether the completion of `task` completes the job (a job manager with
    killJobOnCompletion)."""
    manager = job.get("jobManagerTask") or {}
    return is_manager(task) and bool(manager.get("killJobOnCompletion", True))
