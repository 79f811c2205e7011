"""Batch's passing states and the 409s they bring, the literal command line, and no secret in
any answer — through the azure-batch SDK against the local service."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from azure.batch import BatchClient
from azure.batch import models as m
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.core.rest import HttpRequest
from emulator_helpers import (
    job_options,
    pool_options,
    stdout_of,
    unique,
    wait_task_done,
    wait_until,
)

pytestmark = pytest.mark.timeout(120)


def _exists(client: BatchClient, name: str, pool: bool = False) -> bool:
    try:
        client.get_pool(name) if pool else client.get_job(name)
    except ResourceNotFoundError:
        return False
    return True


def test_a_command_line_reaches_the_program_without_expansion(batch_client: BatchClient) -> None:
    pool_id, job_id = unique("literal"), unique("literal")
    batch_client.create_pool(pool_options(pool_id, nodes=1))
    batch_client.create_job(job_options(job_id, pool_id))
    batch_client.create_task(
        job_id, m.BatchTaskCreateOptions(id="echo", command_line="echo $AZ_BATCH_POOL_ID *")
    )
    wait_task_done(batch_client, job_id, "echo")
    # As on Batch: no shell, so neither the variable nor the glob is expanded.
    assert stdout_of(batch_client, job_id, "echo") == "$AZ_BATCH_POOL_ID *\n"
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_a_terminated_job_is_terminating_then_completed(batch_client: BatchClient) -> None:
    pool_id, job_id = unique("term"), unique("term")
    batch_client.create_pool(pool_options(pool_id, nodes=0))
    batch_client.create_job(job_options(job_id, pool_id))
    # azure-batch 15.1.0 cannot build this request without a non-empty options body; its
    # poller would wait for the end, so it is started and not waited for.
    terminate: Any = {"terminateReason": "UserTerminate"}
    batch_client.begin_terminate_job(job_id, terminate, polling_interval=0)
    job = batch_client.get_job(job_id)
    assert job.state == m.BatchJobState.TERMINATING
    assert job.previous_state == m.BatchJobState.ACTIVE
    with pytest.raises(ResourceExistsError) as info:
        batch_client.create_task(job_id, m.BatchTaskCreateOptions(id="t", command_line="true"))
    assert info.value.error.code == "JobBeingTerminated"
    wait_until(lambda: batch_client.get_job(job_id).state == m.BatchJobState.COMPLETED)
    done = batch_client.get_job(job_id)
    assert done.previous_state == m.BatchJobState.ACTIVE  # as recorded on Batch
    assert done.execution_info.termination_reason == "UserTerminate"
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_a_deleted_job_or_pool_is_deleting_and_its_id_taken_meanwhile(
    batch_client: BatchClient,
) -> None:
    pool_id, job_id = unique("del"), unique("del")
    batch_client.create_pool(pool_options(pool_id, nodes=0))
    batch_client.create_job(job_options(job_id, pool_id))
    batch_client.begin_delete_job(job_id, polling_interval=0)
    assert batch_client.get_job(job_id).state == m.BatchJobState.DELETING
    with pytest.raises(ResourceExistsError) as job_info:
        batch_client.create_job(job_options(job_id, pool_id))
    assert job_info.value.error.code == "JobBeingDeleted"
    wait_until(lambda: not _exists(batch_client, job_id))
    batch_client.create_job(job_options(job_id, pool_id))  # the id is free again
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0)
    assert batch_client.get_pool(pool_id).state == m.BatchPoolState.DELETING
    with pytest.raises(ResourceExistsError) as pool_info:
        batch_client.create_pool(pool_options(pool_id, nodes=0))
    assert pool_info.value.error.code == "PoolBeingDeleted"
    wait_until(lambda: not _exists(batch_client, pool_id, pool=True))


def test_a_resize_is_refused_during_a_resize_and_can_be_stopped(batch_client: BatchClient) -> None:
    pool_id = unique("resize")
    batch_client.create_pool(pool_options(pool_id, nodes=0))
    assert batch_client.get_pool(pool_id).allocation_state == m.AllocationState.RESIZING
    with pytest.raises(ResourceExistsError) as info:
        batch_client.begin_resize_pool(
            pool_id, m.BatchPoolResizeOptions(target_dedicated_nodes=1), polling_interval=0
        ).result()
    assert info.value.error.code == "PoolBeingResized"
    wait_until(lambda: batch_client.get_pool(pool_id).allocation_state == m.AllocationState.STEADY)
    batch_client.begin_resize_pool(
        pool_id, m.BatchPoolResizeOptions(target_dedicated_nodes=2), polling_interval=0
    )
    batch_client.begin_stop_pool_resize(pool_id, polling_interval=0)
    assert batch_client.get_pool(pool_id).allocation_state == m.AllocationState.STOPPING
    wait_until(lambda: batch_client.get_pool(pool_id).allocation_state == m.AllocationState.STEADY)
    pool = batch_client.get_pool(pool_id)
    assert pool.current_dedicated_nodes == 0
    assert [e.code for e in pool.resize_errors] == ["ResizeStopped"]
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_no_answer_holds_a_password_or_key_a_client_sent(batch_client: BatchClient) -> None:
    secret = f"S3cret-{uuid.uuid4().hex}"
    pool_id = unique("secret")
    options = pool_options(pool_id, nodes=1)
    options.user_accounts = [m.UserAccount(name="worker", password=secret)]
    batch_client.create_pool(options)
    wait_until(lambda: any(n.state == "idle" for n in batch_client.list_nodes(pool_id)))
    node_id = next(iter(batch_client.list_nodes(pool_id))).id
    batch_client.create_node_user(
        pool_id, node_id, m.BatchNodeUserCreateOptions(name="someone", password=secret)
    )
    answers = []
    for method, path in (
        ("GET", f"/pools/{pool_id}"),
        ("GET", "/pools"),
        ("GET", f"/pools/{pool_id}/nodes"),
        ("GET", f"/pools/{pool_id}/nodes/{node_id}"),
        ("GET", f"/pools/{pool_id}/nodes/{node_id}/remoteloginsettings"),
    ):
        response = batch_client.send_request(
            HttpRequest(method, path, params={"api-version": "2025-06-01"})
        )
        answers.append(response.text())
    with pytest.raises(HttpResponseError) as info:
        batch_client.create_node_user(
            pool_id, node_id, m.BatchNodeUserCreateOptions(name="someone", password=secret)
        )
    answers.append(str(info.value))
    assert info.value.error.code == "NodeUserExists"
    assert all(secret not in a for a in answers)
    assert batch_client.get_pool(pool_id).user_accounts[0].password is None
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_windows_images_are_a_documented_limit_of_the_local_service(
    batch_client: BatchClient,
) -> None:
    options = pool_options(unique("win"), nodes=0)
    options.virtual_machine_configuration = m.VirtualMachineConfiguration(
        image_reference=m.BatchVmImageReference(
            publisher="MicrosoftWindowsServer", offer="WindowsServer", sku="2022-datacenter"
        ),
        node_agent_sku_id="batch.node.windows amd64",
    )
    with pytest.raises(HttpResponseError) as info:
        batch_client.create_pool(options)
    assert info.value.status_code == 400
    assert info.value.error.code == "NotSupportedByLocalService"
    assert "docs/emulator.md" in str(info.value)


def test_apply_waits_out_a_job_still_being_deleted(batch_client: BatchClient) -> None:
    from batchspec.apply.job import ensure_job

    pool_id, job_id = unique("rerun"), unique("rerun")
    batch_client.create_pool(pool_options(pool_id, nodes=0))
    batch_client.create_job(job_options(job_id, pool_id))
    batch_client.begin_delete_job(job_id, polling_interval=0)  # a --rerun right after a delete
    said: list[str] = []
    assert ensure_job(batch_client, job_options(job_id, pool_id), say=said.append)
    assert said[0] == f"job {job_id} is being deleted; waiting for that to finish"
    assert batch_client.get_job(job_id).state == m.BatchJobState.ACTIVE
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()
