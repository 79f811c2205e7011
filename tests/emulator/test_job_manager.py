"""Job manager tasks as Batch runs them (the job's first task; killJobOnCompletion ends the
job with JMComplete), in a job and in a job schedule's job specification, and a schedule's
doNotRunAfter — through the azure-batch SDK."""

from __future__ import annotations

import datetime as dt

import pytest
from azure.batch import BatchClient
from azure.batch import models as m
from emulator_helpers import job_options, pool_options, unique, wait_task_done, wait_until

pytestmark = pytest.mark.timeout(120)


def _completed(client: BatchClient, job_id: str) -> m.BatchJob:
    found: m.BatchJob = wait_until(
        lambda: (j := client.get_job(job_id)).state == m.BatchJobState.COMPLETED and j
    )
    return found


def test_a_job_manager_runs_first_and_ends_the_job(batch_client: BatchClient) -> None:
    pool_id, job_id = unique("jm"), unique("jm")
    batch_client.create_pool(pool_options(pool_id, nodes=1))
    manager = m.BatchJobManagerTask(id="manager", command_line="/bin/bash -c 'echo managed'")
    batch_client.create_job(job_options(job_id, pool_id, job_manager_task=manager))
    job = batch_client.get_job(job_id)
    assert job.job_manager_task is not None
    assert (job.job_manager_task.kill_job_on_completion, job.job_manager_task.run_exclusive) == (
        True,
        True,
    )
    assert [t.id for t in batch_client.list_tasks(job_id)] == ["manager"]
    task = wait_task_done(batch_client, job_id, "manager")
    assert task.execution_info.exit_code == 0
    assert b"".join(batch_client.download_task_file(job_id, "manager", "stdout.txt")) == (
        b"managed\n"
    )
    assert _completed(batch_client, job_id).execution_info.termination_reason == "JMComplete"
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_without_kill_job_on_completion_the_job_stays_active(batch_client: BatchClient) -> None:
    pool_id, job_id = unique("jmkeep"), unique("jmkeep")
    batch_client.create_pool(pool_options(pool_id, nodes=1))
    manager = m.BatchJobManagerTask(
        id="manager", command_line="/bin/true", kill_job_on_completion=False
    )
    batch_client.create_job(job_options(job_id, pool_id, job_manager_task=manager))
    wait_task_done(batch_client, job_id, "manager")
    batch_client.create_task(job_id, m.BatchTaskCreateOptions(id="after", command_line="true"))
    assert wait_task_done(batch_client, job_id, "after").execution_info.exit_code == 0
    assert batch_client.get_job(job_id).state == m.BatchJobState.ACTIVE
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_a_scheduled_job_runs_its_manager_and_the_schedule_ends_after_its_deadline(
    batch_client: BatchClient,
) -> None:
    pool_id, schedule_id = unique("jms"), unique("jms")
    batch_client.create_pool(pool_options(pool_id, nodes=1))
    after = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=3)
    batch_client.create_job_schedule(
        m.BatchJobScheduleCreateOptions(
            id=schedule_id,
            schedule=m.BatchJobScheduleConfiguration(
                recurrence_interval=dt.timedelta(hours=1), do_not_run_after=after
            ),
            job_specification=m.BatchJobSpecification(
                pool_info=m.BatchPoolInfo(pool_id=pool_id),
                job_manager_task=m.BatchJobManagerTask(id="report", command_line="/bin/true"),
            ),
        )
    )
    job_id = f"{schedule_id}:job-1"
    assert wait_task_done(batch_client, job_id, "report").execution_info.exit_code == 0
    assert _completed(batch_client, job_id).execution_info.termination_reason == "JMComplete"
    schedule = wait_until(
        lambda: (
            (s := batch_client.get_job_schedule(schedule_id)).state
            == m.BatchJobScheduleState.COMPLETED
            and s
        ),
        timeout=30,
    )
    assert schedule.execution_info.next_run_time is None
    assert [j.id for j in batch_client.list_jobs_from_schedule(schedule_id)] == [job_id]
    batch_client.begin_delete_job_schedule(schedule_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()
