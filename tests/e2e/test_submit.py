"""Task submission against the local Batch service: waves, resubmission, refused tasks."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.batch import BatchClient
from azure.batch import models as bm

from apply.handmade_plans import RecordingSigner, topn_like_plan
from batchspec.apply import submit
from batchspec.apply.batch_models import BatchModels
from batchspec.plan.model import TaskPlan

pytestmark = pytest.mark.timeout(120)


def idle_job(client: BatchClient, tmp_path: Path, prefix: str) -> BatchModels:
    """A job on a pool without nodes, so added tasks stay queued."""
    plan = topn_like_plan(tmp_path, prefix=prefix, tasks=0)
    models = BatchModels(plan, RecordingSigner())
    pool = models.pool()
    pool.target_dedicated_nodes = 0
    pool.start_task = None
    client.create_pool(pool)
    client.create_job(models.job())
    return models


def tasks(n: int) -> list[TaskPlan]:
    return [TaskPlan(id=f"t{i:03d}", command_line="/bin/true") for i in range(n)]


def test_waves_are_journaled_and_resubmission_adds_no_duplicate(
    tmp_path: Path, batch_client: BatchClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = idle_job(batch_client, tmp_path, "waves")
    job_id = "waves-job-r1"
    monkeypatch.setattr(submit, "WAVE", 10)
    waves: list[int] = []
    first = submit.submit_tasks(batch_client, job_id, tasks(25), models, on_wave=waves.append)
    assert waves == [10, 20, 25]
    assert (first.added, first.existing) == (25, 0)
    # A run killed after journaling the first wave resubmits from there.
    again = submit.submit_tasks(batch_client, job_id, tasks(25), models, start=10)
    assert (again.added, again.existing) == (0, 15)
    listed = list(batch_client.list_tasks(job_id, select=["id"]))
    assert sorted(t.id for t in listed) == [f"t{i:03d}" for i in range(25)]


def test_tasks_the_service_refuses_are_named_with_its_reason(
    tmp_path: Path, batch_client: BatchClient
) -> None:
    models = idle_job(batch_client, tmp_path, "refused")
    bad = [*tasks(3), TaskPlan(id="has space", command_line="/bin/true")]
    with pytest.raises(submit.SubmitError) as caught:
        submit.submit_tasks(batch_client, "refused-job-r1", bad, models)
    message = str(caught.value)
    assert message.startswith("could not add tasks: task has space: ")
    assert "Invalid" in message, message


def test_describe_limits_the_listed_failures() -> None:
    failures = [
        bm.BatchTaskCreateResult(
            {
                "status": "clienterror",
                "taskId": f"t{i}",
                "error": {"code": "InvalidPropertyValue", "message": {"value": "bad"}},
            }
        )
        for i in range(8)
    ]
    text = submit.describe_create_tasks_error(bm.CreateTasksError([], failures, []))
    assert text.count("InvalidPropertyValue: bad") == submit.SHOWN_FAILURES
    assert text.endswith("and 3 more task(s)")
