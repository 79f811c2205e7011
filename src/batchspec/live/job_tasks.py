"""A job's preparation and release tasks, per node, as Batch reports them (one listing)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from batchspec.redact import redact

if TYPE_CHECKING:  # the status text is written without the SDK loaded
    from azure.batch import BatchClient


@dataclass(frozen=True, slots=True)
class NodeTaskState:
    """One node's preparation or release task (Batch's
    list_job_preparation_and_release_task_status)."""

    node_id: str
    kind: str
    """`preparation` or `release`."""
    state: str
    """`running` or `completed`."""
    result: str | None = None
    """`success` or `failure` once completed."""
    exit_code: int | None = None
    failure: str | None = None
    """`code: message` of Batch's failure information, when it has one."""
    retries: int = 0


def _value(value: object) -> str | None:
    return None if value is None else str(getattr(value, "value", value))


def node_task_states(client: BatchClient, job_id: str) -> list[NodeTaskState]:
    """Every node's preparation and release task, in the order Batch lists the nodes."""
    states: list[NodeTaskState] = []
    for entry in client.list_job_preparation_and_release_task_status(job_id):
        pairs = (
            ("preparation", entry.job_preparation_task_execution_info),
            ("release", entry.job_release_task_execution_info),
        )
        for kind, info in pairs:
            if info is None:
                continue
            failure = info.failure_info
            states.append(
                NodeTaskState(
                    node_id=entry.node_id or "?",
                    kind=kind,
                    state=_value(info.state) or "?",
                    result=_value(info.result),
                    exit_code=info.exit_code,
                    failure=None
                    if failure is None
                    else redact(f"{failure.code}: {failure.message}"),
                    retries=int(getattr(info, "retry_count", 0) or 0),
                )
            )
    return states


def describe(state: NodeTaskState) -> str:
    """`tvmps_1: completed, failure (exit code 3; FailureExitCode: ...)`."""
    text = f"{state.node_id}: {state.state}"
    if state.result is not None:
        text += f", {state.result}"
    details = []
    if state.exit_code is not None:
        details.append(f"exit code {state.exit_code}")
    if state.retries:
        details.append(f"{state.retries} retries")
    if state.failure is not None and state.result == "failure":
        details.append(state.failure)
    return text + (f" ({'; '.join(details)})" if details else "")
