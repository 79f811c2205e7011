"""apply stops when the job preparation task failed on every node: Batch would run no task."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from batchspec.apply.monitor import Counts
from batchspec.apply.preparation import PreparationFailed, preparation_check

WAITING = Counts(active=3, running=0, completed=0, succeeded=0, failed=0)


def _info(result: str, exit_code: int) -> Any:
    failure = SimpleNamespace(code="FailureExitCode", message="The task did not succeed")
    return SimpleNamespace(
        state="completed",
        result=result,
        exit_code=exit_code,
        failure_info=failure if result == "failure" else None,
        retry_count=1,
    )


class FakeBatch:
    def __init__(self, prep: dict[str, Any], nodes: list[str]) -> None:
        self.prep, self.nodes, self.listings = prep, nodes, 0

    def list_job_preparation_and_release_task_status(self, job_id: str) -> list[Any]:
        self.listings += 1
        return [
            SimpleNamespace(
                node_id=node,
                job_preparation_task_execution_info=info,
                job_release_task_execution_info=None,
            )
            for node, info in self.prep.items()
        ]

    def list_nodes(self, pool_id: str, select: list[str]) -> list[Any]:
        return [SimpleNamespace(id=n) for n in self.nodes]


def test_a_preparation_failed_on_every_node_stops_the_watch() -> None:
    batch = FakeBatch({"n1": _info("failure", 3), "n2": _info("failure", 3)}, ["n1", "n2"])
    check = preparation_check(batch, "job", "pool")  # type: ignore[arg-type]
    with pytest.raises(PreparationFailed) as stopped:
        check(WAITING)
    message = str(stopped.value)
    assert "failed on every node of pool pool" in message
    assert "n1: completed, failure (exit code 3; 1 retries; FailureExitCode:" in message
    assert "none of its 3 waiting task(s)" in message


def test_one_good_node_or_running_tasks_keep_it_going() -> None:
    batch = FakeBatch({"n1": _info("failure", 3), "n2": _info("success", 0)}, ["n1", "n2"])
    check = preparation_check(batch, "job", "pool")  # type: ignore[arg-type]
    check(WAITING)
    check(Counts(active=1, running=1, completed=0, succeeded=0, failed=0))
    assert batch.listings == 1  # nothing is asked while a task runs
