"""Batch features the local service carries out on its own nodes: autoscale, job disable and
enable, auto pools, job schedules, node operations and users, extensions, service logs,
certificates (retired, as on Batch) — through the azure-batch SDK."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from azure.batch import BatchClient
from azure.batch import models as m
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.rest import HttpRequest
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas
from emulator_helpers import (
    AGENT,
    UBUNTU,
    job_options,
    pool_options,
    unique,
    wait_task_done,
    wait_until,
)

pytestmark = pytest.mark.timeout(120)


def _steady(client: BatchClient, pool_id: str) -> m.BatchPool:
    return wait_until(
        lambda: (p := client.get_pool(pool_id)).allocation_state == m.AllocationState.STEADY and p
    )


def _idle_nodes(client: BatchClient, pool_id: str, count: int) -> list[m.BatchNode]:
    def idle() -> list[m.BatchNode] | None:
        nodes = [x for x in client.list_nodes(pool_id) if x.state == "idle"]
        return nodes if len(nodes) == count else None

    found: list[m.BatchNode] = wait_until(idle)
    return found


def _gone(client: BatchClient, pool_id: str) -> bool:
    try:
        client.get_pool(pool_id)
    except ResourceNotFoundError:
        return True
    return False


def test_autoscale_formulas_size_the_pool_on_its_own_counters(batch_client: BatchClient) -> None:
    pool_id = unique("scale")
    batch_client.create_pool(pool_options(pool_id, nodes=0))
    _steady(batch_client, pool_id)
    batch_client.enable_pool_auto_scale(
        pool_id,
        m.BatchPoolEnableAutoScaleOptions(
            auto_scale_formula="$TargetDedicatedNodes = $PendingTasks > 0 ? 2 : 1;",
            auto_scale_evaluation_interval=dt.timedelta(minutes=6),
        ),
    )
    pool = batch_client.get_pool(pool_id)
    assert pool.enable_auto_scale and pool.target_dedicated_nodes == 1
    assert pool.auto_scale_evaluation_interval == dt.timedelta(minutes=6)
    run = batch_client.evaluate_pool_auto_scale(
        pool_id,
        m.BatchPoolEvaluateAutoScaleOptions(
            auto_scale_formula="n = max(3, 1); $TargetDedicatedNodes = n"
        ),
    )
    assert (
        run.results
        == "$TargetDedicatedNodes=3;$TargetLowPriorityNodes=0;$NodeDeallocationOption=requeue;n=3"
    )
    with pytest.raises(HttpResponseError) as bad:
        batch_client.evaluate_pool_auto_scale(
            pool_id, m.BatchPoolEvaluateAutoScaleOptions(auto_scale_formula="$X = ;")
        )
    assert bad.value.error.code == "InvalidAutoScaleFormula"
    with pytest.raises(HttpResponseError) as manual:
        batch_client.begin_resize_pool(
            pool_id, m.BatchPoolResizeOptions(target_dedicated_nodes=3), polling_interval=0
        ).result()
    assert manual.value.status_code == 409
    _idle_nodes(batch_client, pool_id, 1)
    batch_client.disable_pool_auto_scale(pool_id)
    pool = batch_client.get_pool(pool_id)
    assert not pool.enable_auto_scale and pool.auto_scale_formula is None
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_a_disabled_job_starts_no_task_until_enabled(batch_client: BatchClient) -> None:
    pool_id, job_id = unique("dis"), unique("dis")
    batch_client.create_pool(pool_options(pool_id, nodes=1))
    batch_client.create_job(job_options(job_id, pool_id))
    batch_client.begin_disable_job(
        job_id, m.BatchJobDisableOptions(disable_tasks="requeue"), polling_interval=0
    ).result()
    assert batch_client.get_job(job_id).state == m.BatchJobState.DISABLED
    batch_client.create_task(job_id, m.BatchTaskCreateOptions(id="t", command_line="true"))
    _idle_nodes(batch_client, pool_id, 1)
    assert batch_client.get_task(job_id, "t").state == m.BatchTaskState.ACTIVE
    batch_client.begin_enable_job(job_id, polling_interval=0).result()
    job = batch_client.get_job(job_id)
    assert (job.state, job.previous_state) == (m.BatchJobState.ACTIVE, m.BatchJobState.DISABLED)
    assert wait_task_done(batch_client, job_id, "t").execution_info.exit_code == 0
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_an_auto_pool_lives_as_long_as_its_job(batch_client: BatchClient) -> None:
    job_id = unique("auto")
    spec = m.BatchAutoPoolSpecification(
        pool_lifetime_option="job",
        auto_pool_id_prefix="mine",
        pool=m.BatchPoolSpecification(
            vm_size="standard_d2s_v3",
            virtual_machine_configuration=m.VirtualMachineConfiguration(
                image_reference=UBUNTU, node_agent_sku_id=AGENT
            ),
            target_dedicated_nodes=1,
        ),
    )
    batch_client.create_job(
        m.BatchJobCreateOptions(id=job_id, pool_info=m.BatchPoolInfo(auto_pool_specification=spec))
    )
    pool_id = batch_client.get_job(job_id).execution_info.pool_id
    assert pool_id.startswith("mine_") and batch_client.pool_exists(pool_id)
    batch_client.create_task(job_id, m.BatchTaskCreateOptions(id="t", command_line="true"))
    assert wait_task_done(batch_client, job_id, "t").node_info.pool_id == pool_id
    # azure-batch 15.1.0 cannot build this request without a non-empty options body.
    terminate: Any = {"terminateReason": "UserTerminate"}
    batch_client.begin_terminate_job(job_id, terminate, polling_interval=0).result()
    wait_until(lambda: _gone(batch_client, pool_id))
    batch_client.begin_delete_job(job_id, polling_interval=0).result()


def test_an_auto_pool_with_a_formula_is_sized_by_it_at_once(batch_client: BatchClient) -> None:
    # As a pool created on its own: the formula is evaluated when the pool is made, not only
    # an evaluation interval (at least 5 minutes) later.
    job_id = unique("autoscale")
    spec = m.BatchAutoPoolSpecification(
        pool_lifetime_option="job",
        auto_pool_id_prefix="scaled",
        pool=m.BatchPoolSpecification(
            vm_size="standard_d2s_v3",
            virtual_machine_configuration=m.VirtualMachineConfiguration(
                image_reference=UBUNTU, node_agent_sku_id=AGENT
            ),
            enable_auto_scale=True,
            auto_scale_formula="$TargetDedicatedNodes = max(2, $PendingTasks);",
            auto_scale_evaluation_interval=dt.timedelta(minutes=5),
        ),
    )
    batch_client.create_job(
        m.BatchJobCreateOptions(id=job_id, pool_info=m.BatchPoolInfo(auto_pool_specification=spec))
    )
    pool_id = batch_client.get_job(job_id).execution_info.pool_id
    pool = batch_client.get_pool(pool_id)
    assert pool.enable_auto_scale and pool.target_dedicated_nodes == 2
    assert len(_idle_nodes(batch_client, pool_id, 2)) == 2
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    wait_until(lambda: _gone(batch_client, pool_id))


def test_an_auto_pool_prefix_is_at_most_20_characters(batch_client: BatchClient) -> None:
    spec = m.BatchAutoPoolSpecification(
        pool_lifetime_option="job",
        auto_pool_id_prefix="p" * 21,
        pool=m.BatchPoolSpecification(
            vm_size="standard_d2s_v3",
            virtual_machine_configuration=m.VirtualMachineConfiguration(
                image_reference=UBUNTU, node_agent_sku_id=AGENT
            ),
            target_dedicated_nodes=1,
        ),
    )
    job_id = unique("prefix")
    with pytest.raises(HttpResponseError) as refused:
        batch_client.create_job(
            m.BatchJobCreateOptions(
                id=job_id, pool_info=m.BatchPoolInfo(auto_pool_specification=spec)
            )
        )
    assert refused.value.status_code == 400
    assert refused.value.error is not None and refused.value.error.code == "InvalidPropertyValue"
    assert not any(p.id.startswith("p" * 21) for p in batch_client.list_pools())
    with pytest.raises(ResourceNotFoundError):
        batch_client.get_job(job_id)


def test_a_job_schedule_makes_its_jobs(batch_client: BatchClient) -> None:
    pool_id, schedule_id = unique("sched"), unique("sched")
    batch_client.create_pool(pool_options(pool_id, nodes=0))
    batch_client.create_job_schedule(
        m.BatchJobScheduleCreateOptions(
            id=schedule_id,
            schedule=m.BatchJobScheduleConfiguration(recurrence_interval=dt.timedelta(days=1)),
            job_specification=m.BatchJobSpecification(pool_info=m.BatchPoolInfo(pool_id=pool_id)),
        )
    )
    schedule = batch_client.get_job_schedule(schedule_id)
    assert schedule.execution_info.recent_job.id == f"{schedule_id}:job-1"
    assert [j.id for j in batch_client.list_jobs_from_schedule(schedule_id)] == [
        f"{schedule_id}:job-1"
    ]
    assert batch_client.job_schedule_exists(schedule_id)
    batch_client.disable_job_schedule(schedule_id)
    assert batch_client.get_job_schedule(schedule_id).state == m.BatchJobScheduleState.DISABLED
    batch_client.enable_job_schedule(schedule_id)
    batch_client.begin_terminate_job_schedule(schedule_id, polling_interval=0).result()
    assert batch_client.get_job_schedule(schedule_id).state == m.BatchJobScheduleState.COMPLETED
    batch_client.begin_delete_job_schedule(schedule_id, polling_interval=0).result()
    with pytest.raises(ResourceNotFoundError):
        batch_client.get_job_schedule(schedule_id)
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_node_operations_users_and_logs(batch_client: BatchClient, azurite: object) -> None:
    pool_id = unique("nodes")
    batch_client.create_pool(pool_options(pool_id, nodes=2))
    first, second = _idle_nodes(batch_client, pool_id, 2)
    assert first.last_boot_time is not None and first.node_agent_info is not None
    reboot: Any = {"nodeRebootOption": "requeue"}  # the SDK needs a body here too
    batch_client.begin_reboot_node(pool_id, first.id, reboot, polling_interval=0)
    assert batch_client.get_node(pool_id, first.id).state == "rebooting"
    reimage: Any = {"nodeReimageOption": "requeue"}
    batch_client.begin_reimage_node(pool_id, second.id, reimage, polling_interval=0)
    assert batch_client.get_node(pool_id, second.id).state == "reimaging"
    _idle_nodes(batch_client, pool_id, 2)
    user = m.BatchNodeUserCreateOptions(name="alice", password="not-kept", is_admin=False)
    batch_client.create_node_user(pool_id, first.id, user)
    batch_client.replace_node_user(
        pool_id, first.id, "alice", m.BatchNodeUserReplaceOptions(password="still-not-kept")
    )
    batch_client.delete_node_user(pool_id, first.id, "alice")
    with pytest.raises(ResourceNotFoundError) as gone:
        batch_client.delete_node_user(pool_id, first.id, "alice")
    assert gone.value.error.code == "NodeUserNotFound"
    login = batch_client.get_node_remote_login_settings(pool_id, first.id)
    # The node's SSH endpoint, as a Linux node has (no SSH server listens locally).
    assert login.remote_login_port in (50000, 50001)
    assert login.remote_login_ip_address == "127.0.0.1"
    names = [e.vm_extension.name for e in batch_client.list_node_extensions(pool_id, first.id)]
    assert names == ["batchNodeExtension"]
    service = BlobServiceClient.from_connection_string(azurite.connection_string)  # type: ignore[attr-defined]
    container = service.create_container(unique("logs"))
    sas = generate_container_sas(
        container.account_name,
        container.container_name,
        account_key=azurite.account_key,  # type: ignore[attr-defined]
        permission=ContainerSasPermissions(write=True, create=True),
        expiry=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
    )
    result = batch_client.upload_node_logs(
        pool_id,
        first.id,
        m.UploadBatchServiceLogsOptions(
            container_url=f"{container.url}?{sas}", start_time=dt.datetime.now(dt.UTC)
        ),
    )
    blobs = [b.name for b in container.list_blobs()]
    assert result.number_of_files_uploaded == len(blobs) >= 1
    assert all(b.startswith(result.virtual_directory_name) for b in blobs)
    batch_client.begin_remove_nodes(
        pool_id, m.BatchNodeRemoveOptions(node_ids=[second.id]), polling_interval=0
    )
    pool = _steady(batch_client, pool_id)
    assert pool.target_dedicated_nodes == 1
    assert [n.id for n in batch_client.list_nodes(pool_id)] == [first.id]
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_certificates_are_retired_and_subnets_must_be_in_the_account(
    batch_client: BatchClient,
) -> None:
    # azure-batch 15.x has no certificate operations left: ask as older clients do.
    with pytest.raises(HttpResponseError) as retired:
        batch_client.send_request(
            HttpRequest("GET", "/certificates", params={"api-version": "2025-06-01"})
        )
    assert retired.value.error.code == "CertificateRetired"
    options = pool_options(unique("net"), nodes=0)
    options.network_configuration = m.NetworkConfiguration(
        subnet_id="/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/test"
        "/providers/Microsoft.Network/virtualNetworks/vnet1/subnets/subnet1"
    )
    with pytest.raises(HttpResponseError) as subnet:
        batch_client.create_pool(options)
    assert subnet.value.error.code == "InvalidPropertyValue"


def test_job_preparation_and_release_tasks_run_on_each_node(batch_client: BatchClient) -> None:
    pool_id, job_id = unique("prep"), unique("prep")
    batch_client.create_pool(pool_options(pool_id, nodes=1))
    shared = "$AZ_BATCH_NODE_SHARED_DIR"
    options = job_options(
        job_id,
        pool_id,
        job_preparation_task=m.BatchJobPreparationTask(
            command_line=f"/bin/bash -c 'echo prepared > {shared}/{job_id}.prep'"
        ),
        job_release_task=m.BatchJobReleaseTask(
            command_line=f"/bin/bash -c 'echo released > {shared}/{job_id}.rel'"
        ),
    )
    batch_client.create_job(options)
    job = batch_client.get_job(job_id)
    assert job.job_preparation_task.id == "jobpreparation"
    assert job.job_release_task.id == "jobrelease"
    check = f"/bin/bash -c 'cat {shared}/{job_id}.prep'"
    batch_client.create_task(job_id, m.BatchTaskCreateOptions(id="t", command_line=check))
    assert wait_task_done(batch_client, job_id, "t").execution_info.exit_code == 0
    [status] = batch_client.list_job_preparation_and_release_task_status(job_id)
    prep = status.job_preparation_task_execution_info
    assert (prep.state, prep.exit_code, prep.result) == ("completed", 0, "success")
    terminate: Any = {"terminateReason": "UserTerminate"}
    batch_client.begin_terminate_job(job_id, terminate, polling_interval=0).result()
    [status] = batch_client.list_job_preparation_and_release_task_status(job_id)
    assert status.job_release_task_execution_info.exit_code == 0
    node = status.node_id
    released = batch_client.download_node_file(pool_id, node, f"shared/{job_id}.rel")
    assert b"".join(released) == b"released\n"
    batch_client.begin_delete_job(job_id, polling_interval=0).result()
    batch_client.begin_delete_pool(pool_id, polling_interval=0).result()
