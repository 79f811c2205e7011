"""Task semantics as Batch has them: failures, retries, the wall clock, the StartTask gate,
dependencies, exit conditions, collection limits and duplicate ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from azure.batch import BatchClient
from azure.batch import models as m
from azure.core.exceptions import HttpResponseError
from emulator_helpers import (
    job_options,
    pool_options,
    stdout_of,
    unique,
    wait_task_done,
    wait_until,
)

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def pool(batch_client: BatchClient) -> Iterator[str]:
    """One node with four slots and no StartTask."""
    pool_id = unique("behaviour")
    batch_client.create_pool(pool_options(pool_id, nodes=1, task_slots_per_node=4))
    wait_until(lambda: [n for n in batch_client.list_nodes(pool_id) if n.state == "idle"])
    yield pool_id
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


@pytest.fixture()
def job(batch_client: BatchClient, pool: str) -> Iterator[str]:
    job_id = unique("job")
    batch_client.create_job(job_options(job_id, pool, uses_task_dependencies=True))
    yield job_id
    batch_client.begin_delete_job(job_id, polling_interval=0).result()


def _add(client: BatchClient, job_id: str, task_id: str, command: str, **kw: Any) -> None:
    client.create_task(job_id, m.BatchTaskCreateOptions(id=task_id, command_line=command, **kw))


def test_failing_task_records_exit_code_and_failure_info(
    batch_client: BatchClient, job: str
) -> None:
    _add(batch_client, job, "fails", "/bin/bash -c 'echo oops >&2; exit 3'")
    task = wait_task_done(batch_client, job, "fails")
    info = task.execution_info
    assert info.exit_code == 3 and info.result == m.BatchTaskExecutionResult.FAILURE
    assert info.failure_info.code == "FailureExitCode"
    assert info.failure_info.category == m.BatchErrorSourceCategory.USER_ERROR
    assert info.retry_count == 0
    assert stdout_of(batch_client, job, "fails", "stderr.txt") == "oops\n"
    counts = batch_client.get_job_task_counts(job).task_counts
    assert (counts.completed, counts.failed) == (1, 1)


def test_missing_program_is_a_failure_not_a_crash(batch_client: BatchClient, job: str) -> None:
    _add(batch_client, job, "ghost", "/no/such/program --flag")
    info = wait_task_done(batch_client, job, "ghost").execution_info
    assert info.result == m.BatchTaskExecutionResult.FAILURE
    assert info.failure_info.code == "CommandProgramNotFound"


def test_task_is_retried_until_it_succeeds(batch_client: BatchClient, job: str) -> None:
    # Fails on its first two tries, succeeds on the third (counter kept in the task's wd).
    script = "n=$(cat tries 2>/dev/null || echo 0); echo $((n+1)) > tries; [ $n -ge 2 ]"
    constraints = m.BatchTaskConstraints(max_task_retry_count=3)
    _add(batch_client, job, "flaky", f"/bin/bash -c '{script}'", constraints=constraints)
    info = wait_task_done(batch_client, job, "flaky").execution_info
    assert info.result == m.BatchTaskExecutionResult.SUCCESS
    assert info.retry_count == 2 and info.last_retry_time is not None


def test_retries_run_out(batch_client: BatchClient, job: str) -> None:
    constraints = m.BatchTaskConstraints(max_task_retry_count=1)
    _add(batch_client, job, "hopeless", "/bin/false", constraints=constraints)
    info = wait_task_done(batch_client, job, "hopeless").execution_info
    assert info.result == m.BatchTaskExecutionResult.FAILURE and info.retry_count == 1


def test_wall_clock_limit_kills_the_task(batch_client: BatchClient, job: str) -> None:
    constraints = m.BatchTaskConstraints(max_wall_clock_time="PT1S", max_task_retry_count=2)
    _add(batch_client, job, "slow", "/bin/sleep 60", constraints=constraints)
    task = wait_task_done(batch_client, job, "slow", timeout=30)
    info = task.execution_info
    assert info.result == m.BatchTaskExecutionResult.FAILURE
    assert info.failure_info.code == "TaskEnded"
    assert info.retry_count == 0  # a wall-clock kill is not retried
    assert (info.end_time - info.start_time).total_seconds() < 10


def test_dependencies_wait_for_success(batch_client: BatchClient, job: str) -> None:
    shared = "$AZ_BATCH_NODE_SHARED_DIR"
    for i in (1, 2, 3):
        _add(batch_client, job, str(i), f"/bin/bash -c 'sleep 0.3; touch {shared}/{job}-{i}'")
    deps = m.BatchTaskDependencies(
        task_ids=["1"], task_id_ranges=[m.BatchTaskIdRange(start=2, end=3)]
    )
    check = f"/bin/bash -c 'ls {shared}/{job}-1 {shared}/{job}-2 {shared}/{job}-3'"
    _add(batch_client, job, "after", check, depends_on=deps)
    _add(batch_client, job, "broken", "/bin/false")
    _add(
        batch_client,
        job,
        "never",
        "/bin/true",
        depends_on=m.BatchTaskDependencies(task_ids=["broken"]),
    )
    after = wait_task_done(batch_client, job, "after")
    assert after.execution_info.result == m.BatchTaskExecutionResult.SUCCESS
    ends = [wait_task_done(batch_client, job, str(i)).execution_info.end_time for i in (1, 2, 3)]
    assert after.execution_info.start_time >= max(ends)
    wait_task_done(batch_client, job, "broken")
    assert batch_client.get_task(job, "never").state == m.BatchTaskState.ACTIVE


def test_dependencies_need_a_job_that_uses_them(batch_client: BatchClient, pool: str) -> None:
    job_id = unique("nodeps")
    batch_client.create_job(job_options(job_id, pool))
    with pytest.raises(HttpResponseError) as info:
        _add(
            batch_client,
            job_id,
            "x",
            "/bin/true",
            depends_on=m.BatchTaskDependencies(task_ids=["y"]),
        )
    assert info.value.error.code == "TaskDependenciesNotSpecifiedOnJob"
    batch_client.begin_delete_job(job_id, polling_interval=0).result()


def test_exit_condition_terminates_the_job(batch_client: BatchClient, pool: str) -> None:
    job_id = unique("exitcond")
    batch_client.create_job(
        job_options(job_id, pool, task_failure_mode="performexitoptionsjobaction")
    )
    _add(batch_client, job_id, "waits", "/bin/sleep 30")
    exit_conditions = m.ExitConditions(default=m.ExitOptions(job_action="terminate"))
    _add(batch_client, job_id, "bad", "/bin/false", exit_conditions=exit_conditions)
    wait_until(lambda: batch_client.get_job(job_id).state == m.BatchJobState.COMPLETED, timeout=30)
    assert batch_client.get_job(job_id).execution_info.termination_reason == "TaskFailed"
    waits = wait_task_done(batch_client, job_id, "waits", timeout=30)
    assert waits.execution_info.failure_info.code == "TaskEnded"
    batch_client.begin_delete_job(job_id, polling_interval=0).result()


def test_terminate_job_ends_running_and_queued_tasks(batch_client: BatchClient, pool: str) -> None:
    job_id = unique("term")
    batch_client.create_job(job_options(job_id, pool))
    batch_client.create_tasks(
        job_id,
        [m.BatchTaskCreateOptions(id=f"s{i}", command_line="/bin/sleep 30") for i in range(6)],
    )
    wait_until(lambda: batch_client.get_job_task_counts(job_id).task_counts.running == 4)
    # azure-batch 15.1.0 cannot build this request without a non-empty options body.
    options: Any = {"terminateReason": "StoppedByTest"}
    batch_client.begin_terminate_job(job_id, options, polling_interval=0).result()
    job = batch_client.get_job(job_id)
    assert job.state == m.BatchJobState.COMPLETED
    assert job.execution_info.termination_reason == "StoppedByTest"
    wait_until(lambda: batch_client.get_job_task_counts(job_id).task_counts.completed == 6)
    with pytest.raises(HttpResponseError) as info:
        _add(batch_client, job_id, "late", "/bin/true")
    assert info.value.error.code == "JobCompleted"
    batch_client.begin_delete_job(job_id, polling_interval=0).result()


def test_collection_of_101_tasks_is_refused(batch_client: BatchClient, job: str) -> None:
    tasks = [m.BatchTaskCreateOptions(id=f"c{i}", command_line="/bin/true") for i in range(101)]
    with pytest.raises(HttpResponseError) as info:
        batch_client.create_task_collection(job, m.BatchTaskGroup(task_values=tasks))
    assert info.value.status_code == 413
    assert info.value.error.code == "RequestBodyTooLarge"
    assert list(batch_client.list_tasks(job)) == []


def test_body_over_one_mebibyte_is_refused(batch_client: BatchClient, job: str) -> None:
    env = [m.EnvironmentSetting(name=f"V{i}", value="x" * 1000) for i in range(12)]
    tasks = [
        m.BatchTaskCreateOptions(id=f"big{i}", command_line="/bin/true", environment_settings=env)
        for i in range(100)
    ]
    with pytest.raises(HttpResponseError) as info:
        batch_client.create_task_collection(job, m.BatchTaskGroup(task_values=tasks))
    assert info.value.error.code == "RequestBodyTooLarge"
    # The SDK's create_tasks splits the chunk on RequestBodyTooLarge, as it does against Azure.
    result = batch_client.create_tasks(job, tasks)
    assert len(result.result_values) == 100


def test_duplicate_ids_get_task_exists_per_task(batch_client: BatchClient, job: str) -> None:
    _add(batch_client, job, "taken", "/bin/true")
    group = m.BatchTaskGroup(
        task_values=[
            m.BatchTaskCreateOptions(id="fresh", command_line="/bin/true"),
            m.BatchTaskCreateOptions(id="FRESH", command_line="/bin/true"),
            m.BatchTaskCreateOptions(id="taken", command_line="/bin/true"),
        ]
    )
    results = batch_client.create_task_collection(job, group).result_values
    by_status = sorted((r.task_id, r.status, r.error.code if r.error else None) for r in results)
    assert by_status == [
        ("FRESH", m.BatchTaskAddStatus.CLIENT_ERROR, "TaskExists"),
        ("fresh", m.BatchTaskAddStatus.SUCCESS, None),
        ("taken", m.BatchTaskAddStatus.CLIENT_ERROR, "TaskExists"),
    ]
    with pytest.raises(HttpResponseError) as info:
        _add(batch_client, job, "taken", "/bin/true")
    assert info.value.error.code == "TaskExists"


def test_failed_start_task_keeps_tasks_off_the_node(batch_client: BatchClient) -> None:
    pool_id, job_id = unique("stfail"), unique("job")
    start = m.BatchStartTask(
        command_line="/bin/bash -c 'echo cannot install >&2; exit 7'",
        max_task_retry_count=1,
        wait_for_success=True,
    )
    batch_client.create_pool(pool_options(pool_id, nodes=1, start_task=start))
    batch_client.create_job(job_options(job_id, pool_id))
    _add(batch_client, job_id, "stuck", "/bin/true")
    node = wait_until(
        lambda: [n for n in batch_client.list_nodes(pool_id) if n.state == "starttaskfailed"]
    )[0]
    info = node.start_task_info
    assert info.result == m.BatchTaskExecutionResult.FAILURE and info.exit_code == 7
    assert info.retry_count == 1 and info.failure_info.code == "FailureExitCode"
    err = b"".join(batch_client.download_node_file(pool_id, node.id, "startup/stderr.txt"))
    assert err == b"cannot install\n"
    task = batch_client.get_task(job_id, "stuck")
    assert task.state == m.BatchTaskState.ACTIVE and task.node_info is None
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_job_wall_clock_terminates_the_job(batch_client: BatchClient, pool: str) -> None:
    job_id = unique("jobclock")
    constraints = m.BatchJobConstraints(max_wall_clock_time="PT2S")
    batch_client.create_job(job_options(job_id, pool, constraints=constraints))
    _add(batch_client, job_id, "long", "/bin/sleep 60")
    wait_until(lambda: batch_client.get_job(job_id).state == m.BatchJobState.COMPLETED, 30)
    job = batch_client.get_job(job_id)
    assert job.execution_info.termination_reason == "MaxWallClockTimeExpiry"
    assert (
        wait_task_done(batch_client, job_id, "long").execution_info.failure_info.code == "TaskEnded"
    )
    batch_client.begin_delete_job(job_id, polling_interval=0).result()


def test_the_longest_job_time_limit_batch_takes_is_kept(
    batch_client: BatchClient, pool: str
) -> None:
    job_id = unique("jobforever")
    # 10,675,199 days: the largest .NET TimeSpan, beyond the end of datetime's calendar.
    constraints = m.BatchJobConstraints(max_wall_clock_time="P10675199D")
    batch_client.create_job(job_options(job_id, pool, constraints=constraints))
    _add(batch_client, job_id, "quick", "/bin/true")
    assert wait_task_done(batch_client, job_id, "quick").execution_info.exit_code == 0
    assert batch_client.get_job(job_id).state == m.BatchJobState.ACTIVE
    batch_client.begin_delete_job(job_id, polling_interval=0).result()


def test_job_action_needs_perform_exit_options(batch_client: BatchClient, job: str) -> None:
    exit_conditions = m.ExitConditions(default=m.ExitOptions(job_action="terminate"))
    with pytest.raises(HttpResponseError) as info:
        _add(batch_client, job, "x", "/bin/false", exit_conditions=exit_conditions)
    assert info.value.error.code == "InvalidPropertyValue"


def test_dependency_action_needs_a_job_that_uses_dependencies(
    batch_client: BatchClient, pool: str
) -> None:
    job_id = unique("nodepaction")
    batch_client.create_job(job_options(job_id, pool))
    exit_conditions = m.ExitConditions(default=m.ExitOptions(dependency_action="satisfy"))
    with pytest.raises(HttpResponseError) as info:
        _add(batch_client, job_id, "x", "/bin/false", exit_conditions=exit_conditions)
    assert info.value.error.code == "InvalidPropertyValue"
    batch_client.begin_delete_job(job_id, polling_interval=0).result()


def test_dependency_actions_satisfy_a_failure_and_block_a_success(
    batch_client: BatchClient, job: str
) -> None:
    satisfy = m.ExitConditions(
        exit_code_ranges=[
            m.ExitCodeRangeMapping(
                start=2, end=4, exit_options=m.ExitOptions(dependency_action="satisfy")
            )
        ]
    )
    block = m.ExitConditions(
        exit_codes=[
            m.ExitCodeMapping(code=0, exit_options=m.ExitOptions(dependency_action="block"))
        ]
    )
    _add(batch_client, job, "10", "/bin/bash -c 'exit 3'", exit_conditions=satisfy)
    _add(batch_client, job, "11", "/bin/true", exit_conditions=block)
    on_failure = m.BatchTaskDependencies(task_id_ranges=[m.BatchTaskIdRange(start=10, end=10)])
    _add(batch_client, job, "after-failure", "/bin/true", depends_on=on_failure)
    on_success = m.BatchTaskDependencies(task_ids=["11"])
    _add(batch_client, job, "after-success", "/bin/true", depends_on=on_success)
    after = wait_task_done(batch_client, job, "after-failure")
    assert after.execution_info.result == m.BatchTaskExecutionResult.SUCCESS
    assert wait_task_done(batch_client, job, "11").execution_info.exit_code == 0
    # Batch's default for exit code 0 is satisfy; an explicit block keeps the dependant waiting.
    assert batch_client.get_task(job, "after-success").state == m.BatchTaskState.ACTIVE
