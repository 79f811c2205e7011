"""Multi-instance (MPI) tasks on the local service, through the azure-batch SDK: whole nodes,
the coordination command on every node, the application command on the primary, Batch's
variables, node-to-node `ssh`, the subtask API and failures."""

from __future__ import annotations

import pytest
from azure.batch import BatchClient
from azure.batch import models as m
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from emulator_helpers import (
    job_options,
    pool_options,
    stdout_of,
    unique,
    wait_task_done,
    wait_until,
)

pytestmark = pytest.mark.timeout(120)

_VARS = (
    "AZ_BATCH_NODE_ID AZ_BATCH_HOST_LIST AZ_BATCH_NODE_LIST AZ_BATCH_MASTER_NODE "
    "AZ_BATCH_IS_CURRENT_NODE_MASTER AZ_BATCH_TASK_SHARED_DIR AZ_BATCH_TASK_DIR CCP_NODES"
)


def _env_lines(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def _bash(script: str) -> str:
    return "/bin/bash -c " + "'" + script.replace("'", "'\\''") + "'"


def _mpi_pool(client: BatchClient, nodes: int, **kwargs: object) -> str:
    pool_id = unique("mpi")
    options = pool_options(pool_id, nodes, enable_inter_node_communication=True, **kwargs)
    client.create_pool(options)
    return pool_id


def _node_file(client: BatchClient, pool_id: str, node_id: str, path: str) -> str:
    return b"".join(client.download_node_file(pool_id, node_id, path)).decode()


def test_instances_run_on_their_own_nodes_with_batch_variables(batch_client: BatchClient) -> None:
    pool_id = _mpi_pool(batch_client, 3)
    job_id = unique("mpi-job")
    batch_client.create_job(job_options(job_id, pool_id))
    # Every instance records its variables in the shared dir; the primary reads its own and
    # reaches the other node with `ssh ADDRESS`, as an MPI launcher does.
    coordination = _bash(
        "echo coordinated > $AZ_BATCH_TASK_SHARED_DIR/ready; "
        f"for v in {_VARS}; do echo $v=${{!v}}; done"
    )
    application = _bash(
        f"for v in {_VARS}; do echo $v=${{!v}}; done; cat $AZ_BATCH_TASK_SHARED_DIR/ready; "
        "other=${AZ_BATCH_HOST_LIST#*,}; echo REMOTE=$(ssh -x $other printenv AZ_BATCH_NODE_ID)"
    )
    batch_client.create_task(
        job_id,
        m.BatchTaskCreateOptions(
            id="mpi",
            command_line=application,
            multi_instance_settings=m.MultiInstanceSettings(
                number_of_instances=2, coordination_command_line=coordination
            ),
        ),
    )
    task = wait_task_done(batch_client, job_id, "mpi", timeout=90)
    assert task.execution_info.result == m.BatchTaskExecutionResult.SUCCESS, task.execution_info
    primary = _env_lines(stdout_of(batch_client, job_id, "mpi"))
    assert primary["AZ_BATCH_IS_CURRENT_NODE_MASTER"] == "true"
    assert primary["AZ_BATCH_NODE_ID"] == task.node_info.node_id
    hosts = primary["AZ_BATCH_HOST_LIST"].split(",")
    assert len(hosts) == 2 and len(set(hosts)) == 2
    assert primary["AZ_BATCH_NODE_LIST"] == ";".join(hosts)
    assert primary["AZ_BATCH_MASTER_NODE"] == f"{hosts[0]}:6000"
    assert primary["AZ_BATCH_TASK_SHARED_DIR"] == primary["AZ_BATCH_TASK_DIR"]
    assert primary["CCP_NODES"] == f"2 {hosts[0]} 1 {hosts[1]} 1"
    assert "coordinated" in stdout_of(batch_client, job_id, "mpi")

    subtasks = list(batch_client.list_subtasks(job_id, "mpi"))
    assert [s.id for s in subtasks] == [1]
    sub = subtasks[0]
    assert sub.state == m.BatchSubtaskState.COMPLETED and sub.exit_code == 0
    assert sub.result == m.BatchTaskExecutionResult.SUCCESS
    assert sub.node_info.node_id != task.node_info.node_id
    assert primary["REMOTE"] == sub.node_info.node_id
    # The subtask's stdout.txt is its coordination command's, on its own node.
    text = _node_file(
        batch_client,
        pool_id,
        sub.node_info.node_id,
        f"{sub.node_info.task_root_directory}/stdout.txt",
    )
    seen = _env_lines(text)
    assert seen["AZ_BATCH_IS_CURRENT_NODE_MASTER"] == "false"
    assert seen["AZ_BATCH_NODE_ID"] == sub.node_info.node_id
    assert seen["AZ_BATCH_HOST_LIST"] == primary["AZ_BATCH_HOST_LIST"]
    # Both nodes are free again: a plain task has none of these variables and no subtasks.
    batch_client.create_task(job_id, m.BatchTaskCreateOptions(id="plain", command_line="true"))
    wait_task_done(batch_client, job_id, "plain")
    assert list(batch_client.list_subtasks(job_id, "plain")) == []
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_a_failing_coordination_command_fails_the_task(batch_client: BatchClient) -> None:
    pool_id = _mpi_pool(batch_client, 2)
    job_id = unique("mpi-fail")
    batch_client.create_job(job_options(job_id, pool_id))
    coordination = _bash('[ "$AZ_BATCH_IS_CURRENT_NODE_MASTER" = true ] || exit 7')
    batch_client.create_task(
        job_id,
        m.BatchTaskCreateOptions(
            id="mpi",
            command_line="/bin/echo never",
            multi_instance_settings=m.MultiInstanceSettings(
                number_of_instances=2, coordination_command_line=coordination
            ),
        ),
    )
    task = wait_task_done(batch_client, job_id, "mpi", timeout=90)
    info = task.execution_info
    assert info.result == m.BatchTaskExecutionResult.FAILURE
    assert info.exit_code == 7
    assert info.failure_info.code == "FailureExitCode"
    assert "coordination command failed on subtask 1" in info.failure_info.message
    (sub,) = batch_client.list_subtasks(job_id, "mpi")
    assert sub.exit_code == 7 and sub.result == m.BatchTaskExecutionResult.FAILURE
    with pytest.raises(ResourceNotFoundError):  # the application command never ran
        stdout_of(batch_client, job_id, "mpi")
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_without_inter_node_communication_it_waits_and_others_run(
    batch_client: BatchClient,
) -> None:
    pool_id = unique("plain")
    batch_client.create_pool(pool_options(pool_id, 2))
    job_id = unique("mpi-wait")
    batch_client.create_job(job_options(job_id, pool_id))
    batch_client.create_task(
        job_id,
        m.BatchTaskCreateOptions(
            id="mpi",
            command_line="true",
            multi_instance_settings=m.MultiInstanceSettings(
                number_of_instances=2, coordination_command_line="true"
            ),
        ),
    )
    batch_client.create_task(job_id, m.BatchTaskCreateOptions(id="after", command_line="true"))
    # Batch never schedules it on such a pool ("it remains indefinitely in the active state"),
    # and the task behind it is not held up.
    wait_task_done(batch_client, job_id, "after")
    assert batch_client.get_task(job_id, "mpi").state == m.BatchTaskState.ACTIVE
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_it_waits_for_enough_free_nodes(batch_client: BatchClient) -> None:
    pool_id = _mpi_pool(batch_client, 2)
    job_id = unique("mpi-queue")
    batch_client.create_job(job_options(job_id, pool_id))
    batch_client.create_task(
        job_id, m.BatchTaskCreateOptions(id="busy", command_line="/bin/sleep 2")
    )
    wait_until(lambda: batch_client.get_task(job_id, "busy").state == m.BatchTaskState.RUNNING)
    batch_client.create_task(
        job_id,
        m.BatchTaskCreateOptions(
            id="mpi",
            command_line="true",
            multi_instance_settings=m.MultiInstanceSettings(
                number_of_instances=2, coordination_command_line="true"
            ),
        ),
    )
    busy = wait_task_done(batch_client, job_id, "busy")
    task = wait_task_done(batch_client, job_id, "mpi", timeout=90)
    assert task.execution_info.result == m.BatchTaskExecutionResult.SUCCESS
    assert task.execution_info.start_time >= busy.execution_info.end_time
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


@pytest.mark.parametrize(
    ("settings", "extra", "code"),
    [
        ({"numberOfInstances": 2}, {}, "MissingRequiredProperty"),
        ({"numberOfInstances": 0, "coordinationCommandLine": "true"}, {}, "InvalidPropertyValue"),
        (
            {"numberOfInstances": 2, "coordinationCommandLine": "true"},
            {"requiredSlots": 2},
            "InvalidPropertyValue",
        ),
    ],
)
def test_bad_settings_are_refused(
    batch_client: BatchClient, settings: dict[str, object], extra: dict[str, object], code: str
) -> None:
    pool_id = _mpi_pool(batch_client, 0)
    job_id = unique("mpi-bad")
    batch_client.create_job(job_options(job_id, pool_id))
    body = {"id": "t", "commandLine": "true", "multiInstanceSettings": settings, **extra}
    with pytest.raises(HttpResponseError) as err:
        batch_client.create_task(job_id, m.BatchTaskCreateOptions(body))
    assert err.value.error is not None and err.value.error.code == code
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_open_mpi_starts_one_rank_on_each_node(batch_client: BatchClient) -> None:
    pool_id = _mpi_pool(batch_client, 2)
    job_id = unique("mpi-run")
    batch_client.create_job(job_options(job_id, pool_id))
    application = _bash("mpirun -host $AZ_BATCH_HOST_LIST -np 2 printenv AZ_BATCH_NODE_ID")
    batch_client.create_task(
        job_id,
        m.BatchTaskCreateOptions(
            id="mpi",
            command_line=application,
            multi_instance_settings=m.MultiInstanceSettings(
                number_of_instances=2, coordination_command_line="true"
            ),
        ),
    )
    task = wait_task_done(batch_client, job_id, "mpi", timeout=90)
    out = stdout_of(batch_client, job_id, "mpi")
    err = stdout_of(batch_client, job_id, "mpi", "stderr.txt")
    assert task.execution_info.result == m.BatchTaskExecutionResult.SUCCESS, (out, err)
    (sub,) = batch_client.list_subtasks(job_id, "mpi")
    assert sorted(out.split()) == sorted([task.node_info.node_id, sub.node_info.node_id])
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_the_job_preparation_runs_on_every_node_first(batch_client: BatchClient) -> None:
    pool_id = _mpi_pool(batch_client, 2)
    job_id = unique("mpi-prep")
    prep = m.BatchJobPreparationTask(
        command_line=_bash("echo prepared > $AZ_BATCH_NODE_SHARED_DIR/prepared")
    )
    batch_client.create_job(job_options(job_id, pool_id, job_preparation_task=prep))
    batch_client.create_task(
        job_id,
        m.BatchTaskCreateOptions(
            id="mpi",
            command_line="true",
            multi_instance_settings=m.MultiInstanceSettings(
                number_of_instances=2,
                coordination_command_line=_bash("test -f $AZ_BATCH_NODE_SHARED_DIR/prepared"),
            ),
        ),
    )
    task = wait_task_done(batch_client, job_id, "mpi", timeout=90)
    assert task.execution_info.result == m.BatchTaskExecutionResult.SUCCESS, task.execution_info
    statuses = list(batch_client.list_job_preparation_and_release_task_status(job_id))
    assert len(statuses) == 2
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_terminate_ends_every_instance(batch_client: BatchClient) -> None:
    pool_id = _mpi_pool(batch_client, 2)
    job_id = unique("mpi-stop")
    batch_client.create_job(job_options(job_id, pool_id))
    batch_client.create_task(
        job_id,
        m.BatchTaskCreateOptions(
            id="mpi",
            command_line=_bash("echo started; sleep 300"),
            multi_instance_settings=m.MultiInstanceSettings(
                number_of_instances=2, coordination_command_line=_bash("sleep 300 &")
            ),
        ),
    )
    wait_until(lambda: "started" in _stdout_or_empty(batch_client, job_id), timeout=60)
    batch_client.terminate_task(job_id, "mpi")
    task = wait_task_done(batch_client, job_id, "mpi")
    assert task.execution_info.failure_info.code == "TaskEnded"
    (sub,) = batch_client.list_subtasks(job_id, "mpi")
    assert sub.state == m.BatchSubtaskState.COMPLETED
    # Both nodes are free again.
    batch_client.create_task(
        job_id,
        m.BatchTaskCreateOptions(
            id="again",
            command_line="true",
            multi_instance_settings=m.MultiInstanceSettings(
                number_of_instances=2, coordination_command_line="true"
            ),
        ),
    )
    assert wait_task_done(batch_client, job_id, "again").execution_info.result == "success"
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def _stdout_or_empty(client: BatchClient, job_id: str) -> str:
    try:
        return stdout_of(client, job_id, "mpi")
    except HttpResponseError:  # not there yet (404), or not readable while it starts
        return ""
