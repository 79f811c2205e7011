"""Watching the job preparation task: a job whose preparation failed on every node never runs.

Batch does not fail the job's tasks when the preparation task fails on a node (with
`waitForSuccess`): it just runs none of them there. If it failed on every node of the pool,
the tasks wait for ever, so apply asks for the per-node status (one listing) when nothing runs
and stops with the nodes' failures.
"""

from __future__ import annotations

from collections.abc import Callable

from azure.batch import BatchClient
from azure.core.exceptions import AzureError

from batchspec.apply.monitor import Counts
from batchspec.errors import RunFailed
from batchspec.live.job_tasks import describe, node_task_states

SHOWN_NODES = 5


class PreparationFailed(RunFailed):
    """The job preparation task failed on every node of the pool: no task can run."""


def preparation_check(client: BatchClient, job_id: str, pool_id: str) -> Callable[[Counts], None]:
    """An on-poll check that raises PreparationFailed once the preparation task has failed on
    every node of the pool while tasks wait and none runs."""

    # Asked at every poll while tasks wait and none runs: a preparation that fails changes
    # no task count. It costs one listing per node, never per task.
    def check(counts: Counts) -> None:
        if counts.running or not counts.active:
            return
        try:
            states = node_task_states(client, job_id)
            failed = [s for s in states if s.kind == "preparation" and s.result == "failure"]
            nodes = {n.id for n in client.list_nodes(pool_id, select=["id"])} if failed else set()
        except AzureError:
            return  # asked again at the next poll; the watch goes on
        if not failed:
            return
        if not nodes or not nodes <= {s.node_id for s in failed}:
            return
        shown = "; ".join(describe(s) for s in failed[:SHOWN_NODES])
        more = f" and {len(failed) - SHOWN_NODES} more" if len(failed) > SHOWN_NODES else ""
        raise PreparationFailed(
            f"job {job_id}: its preparation task failed on every node of pool {pool_id} "
            f"({shown}{more}), so Batch runs none of its {counts.active} waiting task(s) "
            "there; its output is in the task directory jobpreparation on each node"
        )

    return check
