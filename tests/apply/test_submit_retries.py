"""Adding task collections through service faults, against a scripted client (the end-to-end
tests inject the same faults through a proxy in front of the local Batch service)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from azure.batch import models as bm
from azure.core.exceptions import HttpResponseError, ServiceResponseError

from apply.handmade_plans import RecordingSigner, topn_like_plan
from batchspec.apply import submit
from batchspec.apply.batch_models import BatchModels
from batchspec.plan.model import TaskPlan


def busy() -> HttpResponseError:
    error = HttpResponseError(message="The server is busy.")
    error.status_code = 503
    return error


def result(task_id: str, status: str, code: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"taskId": task_id, "status": status}
    if code is not None:
        item["error"] = {"code": code, "message": {"value": f"{code} says no"}}
    return item


class ScriptedAdds:
    """Answers add-collection requests from a script: an exception to raise, or a function
    from the task ids sent to per-task results. Records the ids of every request."""

    def __init__(self, script: list[Any]) -> None:
        self.script = script
        self.sent: list[list[str]] = []
        self.job: set[str] = set()

    def create_task_collection(
        self, job_id: str, group: bm.BatchTaskGroup
    ) -> bm.BatchCreateTaskCollectionResult:
        ids = [t.id for t in group.task_values]
        self.sent.append(ids)
        step = self.script.pop(0) if self.script else "add"
        if step == "lose":  # the service adds them, the answer is lost
            self.job.update(ids)
            raise ServiceResponseError("Connection aborted.")
        if isinstance(step, Exception):
            raise step
        items = step(ids) if callable(step) else [self._add(i) for i in ids]
        return bm.BatchCreateTaskCollectionResult({"value": items})

    def _add(self, task_id: str) -> dict[str, Any]:
        if task_id in self.job:
            return result(task_id, "clienterror", "TaskExists")
        self.job.add(task_id)
        return result(task_id, "success")


def submit_with(
    client: ScriptedAdds, tmp_path: Path, n: int, warned: list[str] | None = None
) -> submit.SubmitSummary:
    models = BatchModels(topn_like_plan(tmp_path, prefix="r", tasks=0), RecordingSigner())
    tasks = [TaskPlan(id=f"t{i}", command_line="/bin/true") for i in range(n)]
    return submit.submit_tasks(
        client,  # type: ignore[arg-type]
        "job",
        tasks,
        models,
        concurrency=1,
        sleep=lambda _: None,
        warn=None if warned is None else warned.append,
    )


def test_a_lost_answer_is_resent_and_counted_once(tmp_path: Path) -> None:
    client = ScriptedAdds(["lose", busy()])
    warned: list[str] = []
    summary = submit_with(client, tmp_path, 3, warned)
    assert (summary.added, summary.existing) == (3, 0)
    assert warned == [
        "the Batch service did not take a task collection "
        "(ServiceResponseError: Connection aborted.); "
        f"sending it again, up to {submit.ATTEMPTS} times in all"
    ]
    assert client.sent == [["t0", "t1", "t2"]] * 3
    assert client.job == {"t0", "t1", "t2"}


def test_only_tasks_with_server_errors_or_no_answer_are_sent_again(tmp_path: Path) -> None:
    def partly(ids: list[str]) -> list[dict[str, Any]]:
        # t0 added, t1 a server error, t2 not mentioned at all.
        client.job.add("t0")
        return [result("t0", "success"), result("t1", "servererror", "InternalError")]

    client = ScriptedAdds([partly])
    summary = submit_with(client, tmp_path, 3)
    assert client.sent == [["t0", "t1", "t2"], ["t1", "t2"]]
    assert (summary.added, summary.existing) == (3, 0)


def test_a_persistent_outage_stops_after_a_bounded_number_of_requests(tmp_path: Path) -> None:
    client = ScriptedAdds([busy() for _ in range(10)])
    with pytest.raises(submit.SubmitError) as caught:
        submit_with(client, tmp_path, 2)
    assert len(client.sent) == submit.ATTEMPTS
    assert str(caught.value) == (
        f"could not add tasks: the Batch service did not take them in {submit.ATTEMPTS} "
        "attempts (The server is busy.)"
    )


def test_tasks_that_keep_getting_server_errors_are_named(tmp_path: Path) -> None:
    def failing(ids: list[str]) -> list[dict[str, Any]]:
        return [result(i, "servererror", "InternalError") for i in ids]

    client = ScriptedAdds([failing] * 10)
    with pytest.raises(submit.SubmitError) as caught:
        submit_with(client, tmp_path, 1)
    assert len(client.sent) == submit.ATTEMPTS
    assert str(caught.value) == "could not add tasks: task t0: InternalError: InternalError says no"


def test_a_refusal_of_the_request_is_not_resent(tmp_path: Path) -> None:
    refused = HttpResponseError(message="The specified job does not exist.")
    refused.status_code = 404
    client = ScriptedAdds([refused])
    with pytest.raises(submit.SubmitError, match="The specified job does not exist"):
        submit_with(client, tmp_path, 2)
    assert len(client.sent) == 1
