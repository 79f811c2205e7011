"""Job preparation and release tasks as Batch runs them: waitForSuccess, a failed preparation,
the release task's 15-minute limit and its need of a preparation task (the REST spec's
JobPreparationTask / JobReleaseTask), through the azure-batch SDK."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from azure.batch import BatchClient
from azure.batch import models as m
from azure.core.exceptions import HttpResponseError
from emulator_helpers import job_options, pool_options, unique, wait_task_done, wait_until

pytestmark = pytest.mark.timeout(120)


def _prep_status(client: BatchClient, job_id: str) -> m.BatchJobPreparationTaskExecutionInfo:
    def completed() -> m.BatchJobPreparationTaskExecutionInfo | None:
        statuses = list(client.list_job_preparation_and_release_task_status(job_id))
        info = statuses[0].job_preparation_task_execution_info if statuses else None
        return info if info is not None and info.state == "completed" else None

    found: m.BatchJobPreparationTaskExecutionInfo = wait_until(completed)
    return found


def test_a_failed_preparation_keeps_the_jobs_tasks_off_the_node(batch_client: BatchClient) -> None:
    pool_id, job_id = unique("prepfail"), unique("prepfail")
    batch_client.create_pool(pool_options(pool_id, nodes=1))
    prep = m.BatchJobPreparationTask(
        command_line="/bin/bash -c 'exit 3'",
        constraints=m.BatchTaskConstraints(max_task_retry_count=1),
    )
    batch_client.create_job(job_options(job_id, pool_id, job_preparation_task=prep))
    batch_client.create_task(job_id, m.BatchTaskCreateOptions(id="t", command_line="/bin/true"))
    info = _prep_status(batch_client, job_id)
    assert (info.result, info.exit_code, info.retry_count) == ("failure", 3, 1)
    assert info.failure_info is not None and info.failure_info.code == "FailureExitCode"
    # The node takes no task of this job: it stays active (the node is still usable).
    assert batch_client.get_task(job_id, "t").state == m.BatchTaskState.ACTIVE
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_without_wait_for_success_tasks_run_even_if_preparation_fails(
    batch_client: BatchClient,
) -> None:
    pool_id, job_id = unique("nowait"), unique("nowait")
    batch_client.create_pool(pool_options(pool_id, nodes=1))
    prep = m.BatchJobPreparationTask(command_line="/bin/bash -c 'exit 5'", wait_for_success=False)
    batch_client.create_job(job_options(job_id, pool_id, job_preparation_task=prep))
    job = batch_client.get_job(job_id)
    assert job.job_preparation_task is not None
    assert job.job_preparation_task.wait_for_success is False
    batch_client.create_task(job_id, m.BatchTaskCreateOptions(id="t", command_line="/bin/true"))
    assert wait_task_done(batch_client, job_id, "t").execution_info.exit_code == 0
    assert _prep_status(batch_client, job_id).exit_code == 5
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_a_release_task_needs_a_preparation_task(batch_client: BatchClient) -> None:
    release = m.BatchJobReleaseTask(command_line="/bin/true")
    with pytest.raises(HttpResponseError) as refused:
        batch_client.create_job(job_options(unique("rel"), "p", job_release_task=release))
    assert refused.value.status_code == 400
    assert refused.value.error is not None
    assert refused.value.error.code == "InvalidPropertyValue"


def test_a_release_task_may_run_at_most_15_minutes(batch_client: BatchClient) -> None:
    prep = m.BatchJobPreparationTask(command_line="/bin/true")
    release = m.BatchJobReleaseTask(
        command_line="/bin/true", max_wall_clock_time=dt.timedelta(minutes=16)
    )
    with pytest.raises(HttpResponseError) as refused:
        batch_client.create_job(
            job_options(unique("rel"), "p", job_preparation_task=prep, job_release_task=release)
        )
    assert refused.value.status_code == 400
    assert refused.value.error is not None
    assert refused.value.error.code == "InvalidPropertyValue"


@pytest.mark.parametrize("rerun", [True, False])
def test_a_rebooted_node_reruns_the_preparation_unless_told_not_to(
    batch_client: BatchClient, rerun: bool
) -> None:
    pool_id, job_id = unique("prepboot"), unique("prepboot")
    batch_client.create_pool(pool_options(pool_id, nodes=1))
    count = "$AZ_BATCH_NODE_SHARED_DIR/prep-count"
    prep = m.BatchJobPreparationTask(
        command_line=f"/bin/bash -c 'echo run >> {count}'",
        rerun_on_node_reboot_after_success=rerun,
    )
    batch_client.create_job(job_options(job_id, pool_id, job_preparation_task=prep))
    batch_client.create_task(job_id, m.BatchTaskCreateOptions(id="a", command_line="/bin/true"))
    node_id = wait_task_done(batch_client, job_id, "a").node_info.node_id
    reboot: Any = {"nodeRebootOption": "requeue"}  # the SDK needs a body here
    batch_client.begin_reboot_node(pool_id, node_id, reboot, polling_interval=0)
    wait_until(lambda: batch_client.get_node(pool_id, node_id).state == "idle")
    batch_client.create_task(job_id, m.BatchTaskCreateOptions(id="b", command_line="/bin/true"))
    wait_task_done(batch_client, job_id, "b")
    runs = b"".join(batch_client.download_node_file(pool_id, node_id, "shared/prep-count"))
    assert runs.decode().split() == (["run", "run"] if rerun else ["run"])
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()
