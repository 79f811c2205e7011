"""Batch's rules for multi-instance tasks: what a create request may say, which pools can run
them, and the subtasks a running one reports (GET .../subtasksinfo).

Evidence (docs/emulator.md#multi-instance-mpi-tasks): "Multi-instance tasks require a pool with
inter-node communication enabled, and with concurrent task execution disabled [...] If you try
to run a multi-instance task in a pool with internode communication disabled, or with a
taskSlotsPerNode value greater than 1, the task is never scheduled--it remains indefinitely in
the active state" (learn.microsoft.com/azure/batch/batch-mpi); `requiredSlots`: "For
multi-instance Tasks, this must be 1" (azure-batch 15.1.0, BatchTaskCreateOptions).
"""

from __future__ import annotations

from typing import Any

from batchspec.emulator.service import errors
from batchspec.emulator.service.errors import invalid_property, missing_property
from batchspec.emulator.service.values import Doc

SETTINGS = "multiInstanceSettings"
# The task document keeps its subtasks (ids 1 .. n-1) here; `_` keys are never answered.
SUBTASKS = "_subtasks"


def instances(task: Doc) -> int:
    """How many nodes a task needs: numberOfInstances, 1 when absent, 0 for a plain task."""
    settings = task.get(SETTINGS)
    if not isinstance(settings, dict):
        return 0
    return int(settings.get("numberOfInstances") or 1)


def check_settings(body: Doc, check_files: Any) -> None:
    """Validate a task body's multiInstanceSettings (create request)."""
    settings = body.get(SETTINGS)
    if settings is None:
        return
    if not isinstance(settings, dict):
        raise invalid_property(SETTINGS, settings)
    count = settings.get("numberOfInstances", 1)
    if count is None:
        count = 1
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise invalid_property(f"{SETTINGS}.numberOfInstances", count)
    command = settings.get("coordinationCommandLine")
    if command is None or command == "":
        raise missing_property(f"{SETTINGS}.coordinationCommandLine")
    if not isinstance(command, str):
        raise invalid_property(f"{SETTINGS}.coordinationCommandLine", command)
    check_files(settings.get("commonResourceFiles"), f"{SETTINGS}.")
    slots = body.get("requiredSlots", 1)
    if slots not in (None, 1):
        raise invalid_property(
            "requiredSlots", slots, "For multi-instance Tasks, requiredSlots must be 1."
        )
    if body.get("containerSettings"):
        raise errors.local_limit(
            SETTINGS, "set", "Multi-instance tasks in containers do not run locally."
        )


def pool_can_run(pool: Doc) -> bool:
    """Batch schedules a multi-instance task only on an inter-node, one-slot-per-node pool."""
    return (
        bool(pool.get("enableInterNodeCommunication"))
        and int(pool.get("taskSlotsPerNode") or 1) == 1
    )


def new_subtasks(node_infos: list[Doc], stamp: str) -> list[Doc]:
    """The subtasks of a task that has just been given its nodes (primary first, not listed)."""
    return [
        {"id": i, "nodeInfo": info, "state": "running", "stateTransitionTime": stamp}
        for i, info in enumerate(node_infos[1:], start=1)
    ]


def end_subtask(sub: Doc, stamp: str, exit_code: int | None, failure: Doc | None) -> None:
    """A subtask completes: its coordination command's exit code, or how it failed."""
    if sub.get("state") == "completed":
        return
    sub["previousState"], sub["previousStateTransitionTime"] = (
        sub.get("state"),
        sub.get("stateTransitionTime"),
    )
    sub["state"], sub["stateTransitionTime"], sub["endTime"] = "completed", stamp, stamp
    if exit_code is not None:
        sub["exitCode"] = exit_code
    sub["result"] = "failure" if failure or exit_code else "success"
    if failure:
        sub["failureInfo"] = failure


def subtasks_of(task: Doc) -> list[Doc]:
    """A task's subtasks as Batch lists them (none for a plain task)."""
    return [dict(s) for s in task.get(SUBTASKS) or []]
